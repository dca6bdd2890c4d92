"""One-step-ahead forecasting of a noisy sine wave with an LSTM, plotting prediction vs truth.

    python examples/sine_forecast.py [--seed 0] [--out sine_forecast.png]

Windows of the 20 previous values feed LSTM(1 → 32) → LastTimeStep → Linear(32 → 1), trained with
MSE on the first 75% of the series; the plot shows the forecast on the held-out last 25%.
"""

import argparse

from convrnn_examples import sine_forecast

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="sine_forecast.png")
    args = parser.parse_args()
    result = sine_forecast(seed=args.seed, plot_path=args.out, verbose=10)
    print(
        f"test MSE {result['test_mse']:.4f} (predict-last-value baseline {result['naive_mse']:.4f}, "
        f"noise floor {result['noise_mse']:.4f}); plot written to {result['plot']}"
    )
