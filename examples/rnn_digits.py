"""An LSTM reading each 8×8 digit row by row: 8 time steps of 8 pixels (>= 95% test accuracy).

    python examples/rnn_digits.py [--seed 0] [--cell lstm|gru|rnn] [--epochs 40]

LSTM(8 → 64) → LastTimeStep → Linear(64 → 10), Adam with a cosine learning-rate schedule,
back-propagation through time written by hand (see nnscratch.engine.layers.recurrent).
"""

import argparse

from convrnn_examples import rnn_digits

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cell", choices=["lstm", "gru", "rnn"], default="lstm")
    parser.add_argument("--epochs", type=int, default=40)
    args = parser.parse_args()
    result = rnn_digits(seed=args.seed, cell=args.cell, epochs=args.epochs, verbose=10)
    print(result["model"])
    print(f"test accuracy: {result['test_accuracy']:.4f}")
