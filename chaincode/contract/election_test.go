package contract_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"fedlora/chaincode/contract"

	"github.com/stretchr/testify/require"
)

// electionVector is one entry of tests/vectors/election.json, shared with the
// Python ledger package so both sides elect the same aggregator.
type electionVector struct {
	Participants []string `json:"participants"`
	Round        int      `json:"round"`
	Attempt      int      `json:"attempt"`
	Aggregator   string   `json:"aggregator"`
}

func TestElectAggregatorMatchesSharedVectors(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "tests", "vectors", "election.json"))
	require.NoError(t, err)
	var vectors []electionVector
	require.NoError(t, json.Unmarshal(raw, &vectors))
	require.GreaterOrEqual(t, len(vectors), 12)

	for _, v := range vectors {
		input := append([]string(nil), v.Participants...)
		got, err := contract.ElectAggregator(input, v.Round, v.Attempt)
		require.NoError(t, err)
		require.Equal(t, v.Aggregator, got, "participants %v round %d attempt %d", v.Participants, v.Round, v.Attempt)
		require.Equal(t, v.Participants, input, "the caller's list must not be reordered")
	}
}

func TestElectAggregatorRejectsImpossibleInputs(t *testing.T) {
	for _, tc := range []struct {
		participants   []string
		round, attempt int
	}{{nil, 1, 0}, {[]string{"Org1MSP/a"}, 0, 0}, {[]string{"Org1MSP/a"}, 1, -1}} {
		_, err := contract.ElectAggregator(tc.participants, tc.round, tc.attempt)
		require.Error(t, err)
	}
}
