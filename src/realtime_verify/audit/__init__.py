"""The static audit's readers: the deployment's configuration turned into data, read-only.

nginx, nginx_*   the nginx configuration as nginx assembles and serves it (see `nginx`)
env, env_*       the real-time variables from .env files, compose, Helm values, Dockerfiles,
                 Kubernetes manifests and the process environment (see `env`)
cloudflare       the zone, through the official SDK
files            bounded reading of input files
run              reads what a profile or the command line names and hands it to the judgement
                 functions in `realtime_verify.checks`
"""
