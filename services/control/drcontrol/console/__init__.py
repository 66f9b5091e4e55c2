"""The operator console: static HTML, vanilla JavaScript and CSS served at ``/console/``."""
