r"""The tuned configs of Figure 4 (spec 5): five agents x three environments x two data regimes.

  python -m agents.model_based.tuned      # (re)writes agents/model_based/configs/*/*.json

The shipped configs of the release are ProcMaze, high data. The others follow its README:
ButtonGrid and PanFlute set `episodic_env` false; the low-data regime sets
target_update_frequency 10, updates_per_step 10, num_steps 100000 and eval_frequency 50. The
step size (`alpha_adam` or `Q_alpha`) and softmax temperature come from the README's table.
ButtonGrid's size is not given by the release: these configs use its class defaults, 10x10
with 3 buttons (spec 9.1); PanFlute uses its defaults, 5 pipes (spec 9.2).
"""

import json
import os
from typing import Dict

CONFIG_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'configs')

AGENTS = ('ER', 'perfect_model', 'simple_model', 'categorical_latent_model',
          'gaussian_latent_model')
ENVIRONMENTS = ('ProcMaze', 'ButtonGrid', 'PanFlute')
REGIMES = ('high', 'low')

# (agent, environment, regime) -> (step size, softmax temperature) [spec 5.3].
TUNED = {
    ('simple_model', 'ProcMaze', 'high'): (2e-4, 0.8),
    ('simple_model', 'ProcMaze', 'low'): (2.5e-5, 0.4),
    ('simple_model', 'ButtonGrid', 'high'): (2e-4, 1.6),
    ('simple_model', 'ButtonGrid', 'low'): (5e-5, 0.4),
    ('simple_model', 'PanFlute', 'high'): (1e-4, 0.4),
    ('simple_model', 'PanFlute', 'low'): (2e-4, 0.2),
    ('perfect_model', 'ProcMaze', 'high'): (1e-4, 0.4),
    ('perfect_model', 'ProcMaze', 'low'): (4e-4, 0.4),
    ('perfect_model', 'ButtonGrid', 'high'): (2e-4, 0.0125),
    ('perfect_model', 'ButtonGrid', 'low'): (2e-4, 0.0125),
    ('perfect_model', 'PanFlute', 'high'): (2e-4, 0.1),
    ('perfect_model', 'PanFlute', 'low'): (1e-4, 0.1),
    ('ER', 'ProcMaze', 'high'): (5e-5, 0.1),
    ('ER', 'ProcMaze', 'low'): (2.5e-5, 1.6),
    ('ER', 'ButtonGrid', 'high'): (5e-5, 0.0125),
    ('ER', 'ButtonGrid', 'low'): (2.5e-5, 0.1),
    ('ER', 'PanFlute', 'high'): (1e-4, 0.1),
    ('ER', 'PanFlute', 'low'): (3.125e-6, 0.8),
    ('categorical_latent_model', 'ProcMaze', 'high'): (2e-4, 1.6),
    ('categorical_latent_model', 'ProcMaze', 'low'): (1e-4, 0.8),
    ('categorical_latent_model', 'ButtonGrid', 'high'): (1e-4, 0.05),
    ('categorical_latent_model', 'ButtonGrid', 'low'): (2e-4, 0.1),
    ('categorical_latent_model', 'PanFlute', 'high'): (8e-4, 0.05),
    ('categorical_latent_model', 'PanFlute', 'low'): (1.6e-3, 0.05),
    ('gaussian_latent_model', 'ProcMaze', 'high'): (3.125e-6, 12.8),
    ('gaussian_latent_model', 'ProcMaze', 'low'): (3.125e-6, 0.8),
    ('gaussian_latent_model', 'ButtonGrid', 'high'): (1.25e-5, 0.1),
    ('gaussian_latent_model', 'ButtonGrid', 'low'): (2.5e-5, 0.8),
    ('gaussian_latent_model', 'PanFlute', 'high'): (2e-4, 0.1),
    ('gaussian_latent_model', 'PanFlute', 'low'): (2e-4, 0.1),
}

_COMMON = {
    'num_hidden_layers': 3, 'num_hidden_units': 200, 'activation': 'elu', 'b1_adam': 0.9,
    'b2_adam': 0.99, 'eps_adam': 1e-05, 'wd_adam': 1e-06, 'exploration_strat': 'softmax',
    'num_seeds': 30, 'target_update_frequency': 100, 'use_target': True, 'buffer_size': 100000,
    'num_steps': 1000000, 'gamma': 0.9, 'training_start_time': 1000, 'eval_frequency': 500,
    'eval_steps': 100, 'eval_batch_size': 32, 'save_params': True, 'save_frequency': 10000,
}
_LEARNED_MODEL = {
    'model_alpha': 2e-4, 'batch_size': 32, 'rollout_length': 10, 'reward_weight': 1.0,
    'termination_weight': 1.0, 'obs_prediction_weight': 1.0, 'binary_obs': True,
}
_LATENT = dict(_LEARNED_MODEL, agent_type='latent_model', KL_prior_weight=0.8,
               KL_posterior_weight=0.2, posterior_entropy_weight=0.0, num_features=32)
_AGENT_KEYS = {
    'ER': {'agent_type': 'ER', 'batch_size': 320},
    'perfect_model': {'agent_type': 'perfect_model', 'batch_size': 32, 'rollout_length': 10},
    'simple_model': dict(_LEARNED_MODEL, agent_type='simple_model'),
    'categorical_latent_model': dict(_LATENT, latent_type='categorical', feature_width=32),
    'gaussian_latent_model': dict(_LATENT, latent_type='gaussian', feature_width=32,
                                  min_std=0.1, std_act='sigmoid2'),
}
_ENVIRONMENT_KEYS = {
    'ProcMaze': {'environment': 'ProcMaze', 'episodic_env': True, 'env_config': {'grid_size': 4}},
    'ButtonGrid': {'environment': 'ButtonGrid', 'episodic_env': False,
                   'env_config': {'grid_size': 10, 'num_buttons': 3}},
    'PanFlute': {'environment': 'PanFlute', 'episodic_env': False, 'env_config': {'num_pipes': 5}},
}
_LOW_DATA = {'target_update_frequency': 10, 'updates_per_step': 10, 'num_steps': 100000,
             'eval_frequency': 50}


def make_config(agent: str, environment: str, regime: str) -> Dict:
  """The config dict of one panel's curve."""
  step_size, temperature = TUNED[(agent, environment, regime)]
  step_key = 'alpha_adam' if agent in ('ER', 'perfect_model') else 'Q_alpha'
  config = dict(_COMMON, **_AGENT_KEYS[agent], **_ENVIRONMENT_KEYS[environment])
  if regime == 'low':
    config.update(_LOW_DATA)
  config[step_key] = step_size
  config['softmax_temp'] = temperature
  return dict(sorted(config.items()))


def config_path(agent: str, environment: str, regime: str) -> str:
  return os.path.join(CONFIG_DIR, f'{environment}_{regime}', f'{agent}.json')


def write_all():
  for key in TUNED:
    path = config_path(*key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
      json.dump(make_config(*key), f, indent=2)
      f.write('\n')
    print(path)


if __name__ == '__main__':
  write_all()
