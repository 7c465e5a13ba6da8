"""The static audit's readers: the deployment's configuration turned into data, read-only.

`env` reads the real-time variables from .env files, manifests and the process environment;
`nginx` reads the configuration that serves the socket path; `cloudflare` reads the zone through the
official SDK. `run` reads what a profile or the command line names and hands it to the judgement
functions in `realtime_verify.checks`.
"""
