"""gunicorn's settings for PointsOps: `gunicorn -c config/gunicorn.conf.py config.wsgi:application`
(the Dockerfile, docker-compose.yml; bench/http_load.py takes the same limits).

gunicorn refuses a request whose line or headers pass these limits before Django sees it, so that
answer is gunicorn's own short HTML page, not the API's `{code, detail, fields}`: 414 URI Too
Long for the request line, 431 Request Header Fields Too Large for the headers. The limits are
fixed and documented (docs/operations.md, the OpenAPI description in config/settings.py) so that
a client knows where they are; tests/test_gunicorn.py checks them against a running gunicorn.
A proxy in front should allow at least as much (nginx: `large_client_header_buffers 4 8k`).
"""

# Bytes of the request line: method, path with its query string, and HTTP version. Longer: 414.
# 8190 is gunicorn's ceiling; long filter query strings fit.
limit_request_line = 8190

# Header fields in one request. More: 431.
limit_request_fields = 100

# Bytes of one header field, name and value (a Cookie or Authorization header). Longer: 431.
limit_request_field_size = 8190
