"""Alerts shared by every module: raised by RQ evaluators, acknowledged, assigned and cleared by people."""
