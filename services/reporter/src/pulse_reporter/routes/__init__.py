"""The reporter's HTTP routes, one module per resource."""
