"""What is computed over ensembles: calibration, posterior, backtest, sensitivity, sweeps."""
