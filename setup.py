"""Package definition; the pins come from requirements.txt, shared with setup.sh."""

import pathlib

import setuptools

_HERE = pathlib.Path(__file__).parent


def _requirements():
  """Every pinned requirement of requirements.txt, without comments."""
  lines = (_HERE / 'requirements.txt').read_text().splitlines()
  return [line.split('#')[0].strip() for line in lines
          if line.split('#')[0].strip()]


setuptools.setup(
    name='memory-credit-meta-agents',
    version='0.1.0',
    description='Distributed Acme/Reverb/Launchpad agents: meta-RL, TVT, FTW and '
                'model-based generalisation.',
    python_requires='>=3.10,<3.11',
    packages=setuptools.find_packages(
        include=['agents*', 'environments*', 'launch*', 'hyperparameters*',
                 'benchmarks*']),
    install_requires=_requirements(),
)
