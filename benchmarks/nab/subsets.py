"""Named subsets of the shared NAB corpus, declared by what the series measure.

The volume detector models counts of events (a rate that follows the clock, overdispersed,
bursting), so beside the whole corpus it is judged on the files that are counts or volumes of
events too. The list was fixed from the files' names and a few of their values, before any
score of the detector on them was looked at; what a file scores is no reason to add or drop it.
CPU percentages, temperatures, latencies, speeds, occupancy ratios, prices and key-hold times
are levels of something, not counts, and are left out; so are the artificial files without a
story (flat lines, square waves, a noisy sine), which measure nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

COUNT_LIKE: Mapping[str, str] = {
    "realKnownCause/nyc_taxi.csv": "taxi passengers per 30 minutes in New York City",
    "realAWSCloudwatch/elb_request_count_8c0756.csv": "requests a load balancer served per 5 min",
    "realAWSCloudwatch/ec2_network_in_257a54.csv": "bytes an EC2 instance received per 5 min",
    "realAWSCloudwatch/ec2_network_in_5abac7.csv": "bytes an EC2 instance received per 5 min",
    "realAWSCloudwatch/iio_us-east-1_i-a2eb1cd9_NetworkIn.csv": "bytes an instance received",
    "realAWSCloudwatch/ec2_disk_write_bytes_1ef3de.csv": "bytes written to disk per 5 min",
    "realAWSCloudwatch/ec2_disk_write_bytes_c0d644.csv": "bytes written to disk per 5 min",
    "artificialWithAnomaly/art_load_balancer_spikes.csv": "synthetic load-balancer request spikes",
    "artificialWithAnomaly/art_increase_spike_density.csv": "synthetic bursts of events, denser",
}

SUBSETS: Mapping[str, Mapping[str, str]] = {"count-like": COUNT_LIKE}
