"""The operator's console: a page served at `/` that drives the API from the browser with the API's own auth."""
