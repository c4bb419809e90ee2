"""The researcher's side: datasets over capture sets, the paper's models, training, metrics
and reports (`train fit / eval / ablate`)."""
