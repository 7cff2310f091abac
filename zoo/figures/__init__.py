"""Pure figure functions (data in, matplotlib figure out), one module per paper plus `common` and `supervised`.

The Lightning callbacks in `callbacks/` and the reports in `zoo/reports/` both draw with these; nothing here knows
about trainers or loggers.
"""
