"""Package definition; the pins come from requirements.txt (shared with setup.sh) and, for the
model-based suite on current Python and JAX, requirements-model-based.txt (the `model_based`
extra, shared with setup_model_based.sh)."""

import pathlib

import setuptools

_HERE = pathlib.Path(__file__).parent
# The pinned stack (Launchpad, Reverb, TensorFlow 2.8) has wheels up to Python 3.10 only; current
# JAX needs Python 3.12. From 3.12 on the package installs the model-based suite alone, through
# its extra; on 3.11 neither set installs.
_PINNED_STACK = 'python_version < "3.11"'
_CURRENT_JAX = 'python_version >= "3.12"'


def _requirements(name: str, marker: str):
  """Every pinned requirement of file `name`, without comments, limited by `marker`."""
  lines = (_HERE / name).read_text().splitlines()
  return [f'{line.split("#")[0].strip()}; {marker}' for line in lines
          if line.split('#')[0].strip()]


setuptools.setup(
    name='memory-credit-meta-agents',
    version='0.1.0',
    description='Distributed Acme/Reverb/Launchpad agents: meta-RL, TVT, FTW and '
                'model-based generalisation.',
    python_requires='>=3.10,!=3.11.*',
    packages=setuptools.find_packages(
        include=['agents*', 'environments*', 'launch*', 'hyperparameters*',
                 'benchmarks*']),
    install_requires=_requirements('requirements.txt', _PINNED_STACK),
    extras_require={
        'model_based': _requirements('requirements-model-based.txt', _CURRENT_JAX)},
)
