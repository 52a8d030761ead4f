"""The shared actor-learner core: builders, batched acting, Reverb datasets, Launchpad programs."""
