"""Production monitoring: reject rate over time with control limits, score drift, alerts, the report.

Reads the result log (``studio.results``); never in the station's pipeline.
"""
