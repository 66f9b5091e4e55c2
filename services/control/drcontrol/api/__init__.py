"""Control's REST API (FastAPI), versioned under ``/api/v1``, one router per resource."""
