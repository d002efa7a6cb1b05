"""The Runyard plugin for the unmodified `mlflow` client and the `runyard login|logout|whoami|uri`
commands: `runyard://` / `runyard+http://` tracking and registry URIs, `mlflow-artifacts:` through the
same server, and one credential chain (service principal, token, cached login, browser, device code).

Nothing here imports a server module. The modules mlflow loads through entry points import only the
standard library at module level, so `import mlflow` stays as fast with Runyard installed.
"""
