"""Home rules: scenes and their actions, automations and their engine, timers and schedules."""
