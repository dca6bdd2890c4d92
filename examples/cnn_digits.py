"""A small CNN on scikit-learn's 8×8 handwritten digits (>= 97% test accuracy from seed 0).

    python examples/cnn_digits.py [--seed 0] [--epochs 20]

conv(1→32, 3×3, padding 1) → ReLU → max-pool 2 → conv(32→64) → ReLU → max-pool 2 → dense(256→10),
Adam, softmax cross-entropy, every gradient hand-derived (see nnscratch.engine.layers.conv).
"""

import argparse

from convrnn_examples import cnn_digits

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    result = cnn_digits(seed=args.seed, epochs=args.epochs, verbose=5)
    print(result["model"])
    print(f"test accuracy: {result['test_accuracy']:.4f}")
