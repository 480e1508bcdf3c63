"""Long-running tasks (the HTTP runner, later the SQS runner) with one lifecycle.

Importing this package is cheap: uvicorn and Starlette load only when a runner starts.
"""

#: Seconds in-flight work gets to finish when a runner stops.
STOP_DEADLINE = 10.0
