"""Runnable example programs: ``python -m shendu.examples.mnist_convnet``."""
