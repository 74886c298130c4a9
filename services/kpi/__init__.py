"""The plan's KPI board: the Smart Heping targets, their values now and their daily trend."""
