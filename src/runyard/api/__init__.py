"""HTTP only: parse and validate requests, call a service, render JSON or a stream."""
