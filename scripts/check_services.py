"""Say plainly when PostgreSQL or Redis, which `make test` needs, is not there."""

import os
import sys

import psycopg2
import redis

problems = []
database_url = os.environ["DATABASE_URL"]
try:
    psycopg2.connect(database_url.rsplit("/", 1)[0] + "/postgres", connect_timeout=3).close()
except psycopg2.Error as exc:
    problems.append(f"PostgreSQL is not reachable at {database_url} ({str(exc).strip()}).")
try:
    redis.Redis.from_url(os.environ["REDIS_URL"], socket_connect_timeout=3).ping()
except redis.RedisError as exc:
    problems.append(f"Redis is not reachable at {os.environ['REDIS_URL']} ({exc}).")

if problems:
    print("make test needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust) and Redis on")
    print("127.0.0.1:6379. Start them (or set TEST_DATABASE_URL / TEST_REDIS_URL) and retry:")
    for problem in problems:
        print("  -", problem)
    sys.exit(1)
