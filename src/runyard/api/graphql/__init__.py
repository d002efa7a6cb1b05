"""The GraphQL endpoint the MLflow web UI reads runs and experiments through (`POST /graphql`).

`schema` declares the subset of MLflow's GraphQL schema that Runyard serves, `resolvers` answer
its fields through the services (the same calls the REST reads make), `shapes` renders entities
the way the reference renders its protobuf messages, `limits` holds the document caps and
`endpoint` the HTTP handler.
"""
