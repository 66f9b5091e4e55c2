"""Target adapters: one module per database kind behind drapply.adapters.base."""
