"""What an air station measures: its pollutants (GB 3095's six), then the weather it reports with them.

A module of its own so that message validation (bridges, the simulator) needs no database models.
"""

POLLUTANTS = ("pm25", "pm10", "so2", "no2", "o3", "co")
MEASURES = (*POLLUTANTS, "temperature", "humidity")
