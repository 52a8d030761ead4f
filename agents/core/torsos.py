"""A default torso for any observation spec: one vector per step, whatever the observation.

Images (arrays of rank 3, height x width x channels) go through a small convolutional network,
everything else (scalars, vectors, matrices) is flattened; the leaves of a nested observation are
embedded one by one, concatenated, and passed through an MLP. Users who know their observation
pass their own torso instead.
"""

from typing import Sequence

import numpy as np
import sonnet as snt
import tensorflow as tf
import tree

from agents.core import sonnet_compat  # noqa: F401  # pylint: disable=unused-import


def is_image(spec) -> bool:
  """Whether a leaf spec is an image: rank 3 with a small last (channel) axis."""
  return len(spec.shape) == 3 and spec.shape[-1] <= 4 and min(spec.shape[:2]) >= 4


class _ImageEmbedding(snt.Module):
  """Two strided 3x3 convolutions, flattened; uint8 pixels are scaled to [0, 1]."""

  def __init__(self, scale: float, name: str = 'image_embedding'):
    super().__init__(name=name)
    self._scale = scale
    self._convolutions = snt.Sequential([
        snt.Conv2D(16, 3, stride=2), tf.nn.relu, snt.Conv2D(32, 3, stride=2), tf.nn.relu,
        snt.Flatten()])

  def __call__(self, images):
    return self._convolutions(tf.cast(images, tf.float32) * self._scale)


class ObservationTorso(snt.Module):
  """Embeds a (nested) observation with a leading batch axis into [B, mlp_sizes[-1]]."""

  def __init__(self, observation_spec, mlp_sizes: Sequence[int] = (64,),
               name: str = 'observation_torso'):
    super().__init__(name=name)
    self._embeddings = []  # Per leaf: an image embedding, or the leaf's flat size.
    for index, spec in enumerate(tree.flatten(observation_spec)):
      if is_image(spec):
        scale = 1.0 / 255.0 if np.dtype(spec.dtype) == np.uint8 else 1.0
        self._embeddings.append(_ImageEmbedding(scale, name=f'image_embedding_{index}'))
      else:
        self._embeddings.append(int(np.prod(spec.shape, dtype=int)))
    self._mlp = snt.nets.MLP(list(mlp_sizes), activate_final=True)

  def __call__(self, observation):
    features = []
    for embedding, leaf in zip(self._embeddings, tree.flatten(observation)):
      if isinstance(embedding, int):
        features.append(tf.reshape(tf.cast(leaf, tf.float32), [-1, embedding]))
      else:
        features.append(embedding(leaf))
    return self._mlp(tf.concat(features, axis=-1))
