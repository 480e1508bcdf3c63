"""Long-running tasks (the HTTP runner, later the SQS runner) with one lifecycle.

Importing this package is cheap: uvicorn and Starlette load only when a runner starts.
"""
