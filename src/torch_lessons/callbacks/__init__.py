"""Lightning callbacks the runs use: printouts, figures, the learning-rate tag, the progress bar,
the checkpoint record, and the fault handlers that keep a run's work."""
