"""Evaluation of the grounded-answer pipeline: datasets, metrics, runner, report."""
