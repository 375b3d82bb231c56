"""Each study's report: findings in plain sentences, tables and figures, as Markdown and HTML."""
