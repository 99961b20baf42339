package contract

import (
	"fmt"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
)

// A proposal that lost its attempt is kept under its own key, one per attempt,
// rather than in the round's header: a round may see 2n attempts, each with n
// inputs, weights and verdicts. The transaction that next writes the header
// (a proposal or a timeout report) stores it, with the verdicts it got;
// until then a proposal that lost by verdicts is derived (see derive.go).
// GetRound, ExportTrail and the round transactions' results put them back
// into rejectedProposals, so readers see one Round object.

// attemptsPerParticipant bounds failover: after every participant has had the
// aggregator role this many times without an aggregate passing, the round fails.
const attemptsPerParticipant = 2

// maxAttempts is the number of attempts a round of n participants may use.
func maxAttempts(participants int) int {
	return attemptsPerParticipant * participants
}

// storedRejection is the ledger value of one rejected proposal.
type storedRejection struct {
	Rejected RejectedProposal `json:"rejected"`
	Round    int              `json:"round"`
}

func rejectedKey(stub shim.ChaincodeStubInterface, sessionID string, round, attempt int) (string, error) {
	return compositeKey(stub, rejectedKeyType, sessionID, padded(round), padded(attempt))
}

// saveRejected stores a proposal that lost its attempt of round r.
func saveRejected(stub shim.ChaincodeStubInterface, sessionID string, r int, rejected RejectedProposal) error {
	key, err := rejectedKey(stub, sessionID, r, rejected.Attempt)
	if err != nil {
		return err
	}
	return writeJSON(stub, key, storedRejection{Rejected: rejected, Round: r})
}

// readRejected returns the rejected proposals of round r, in attempt order.
func readRejected(stub shim.ChaincodeStubInterface, sessionID string, r int) ([]RejectedProposal, error) {
	stored, err := readAll[storedRejection](stub, rejectedKeyType, sessionID, padded(r))
	if err != nil {
		return nil, err
	}
	rejected := make([]RejectedProposal, 0, len(stored))
	for _, entry := range stored {
		rejected = append(rejected, entry.Rejected)
	}
	return rejected, nil
}

// padded renders a round or attempt number so that keys sort numerically.
func padded(n int) string {
	return fmt.Sprintf("%0*d", roundKeyDigits, n)
}
