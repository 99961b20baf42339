package contract

import (
	"fmt"
	"sort"
)

// ElectAggregator returns the aggregator of a round attempt: the participant at
// index (round + attempt) mod n of the sorted participant list. Rounds count
// from 1 and attempts from 0; each failover raises the attempt by one, which
// moves the role to the next participant in the rotation.
func ElectAggregator(participants []string, round, attempt int) (string, error) {
	if len(participants) == 0 {
		return "", fmt.Errorf("cannot elect an aggregator among no participants")
	}
	if round < 1 || attempt < 0 {
		return "", fmt.Errorf("round must be >= 1 and attempt >= 0, got round %d attempt %d", round, attempt)
	}
	sorted := append([]string(nil), participants...)
	sort.Strings(sorted)
	return sorted[(round+attempt)%len(sorted)], nil
}
