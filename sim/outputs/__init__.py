"""Words, figures and folders: what the studies' numbers look like to a person.

- ``formatting``: the one formatter of intervals, percentages and money;
- ``figures``: the figures of each study, in one house style;
- ``reports``: each study's findings in plain sentences, as Markdown and HTML;
- ``folders``: results folders written atomically, and ``publish``, which every command uses;
- ``store``: a sweep's finished tasks on disk; ``scenario_toml``: a scenario as a TOML file.
"""
