"""tianbao (填报): collect, check, merge and publish 政府信息公开工作年度报告."""

__version__ = "0.1.0"
