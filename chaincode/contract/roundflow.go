package contract

import (
	"fmt"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
)

// Causes recorded on a RejectedProposal.
const (
	causeRejected = "rejected"
	causeTimeout  = "timeout"
)

// roundState is what a round transaction works on: the caller, the clock, the
// stored session and the round, already checked to belong together.
type roundState struct {
	stub    shim.ChaincodeStubInterface
	who     caller
	now     time.Time
	session Session
	// round is the round as this transaction read it: derived from its header
	// and every entry (loadRound), or the header alone (loadRoundHeader).
	round roundView
	// sessionChanged is set when the stored session must be written: its
	// current round moved on, or it failed.
	sessionChanged bool
}

// openRound writes round r of session in "collecting" with its first aggregator.
func openRound(stub shim.ChaincodeStubInterface, session Session, r int, now time.Time) (Round, error) {
	round, err := newRound(session, r, now)
	if err != nil {
		return Round{}, err
	}
	return round, saveRound(stub, round)
}

// startAggregation closes collection and hands the round to its aggregator.
func (rs *roundState) startAggregation() {
	rs.round.enterPhase(PhaseAggregating, rs.session.Deadlines.AggregateSeconds, rs.now)
}

// failover retires the current proposal, if any, and elects the next
// aggregator, or fails the round after its last attempt. It returns the event name.
func (rs *roundState) failover(cause string) (string, error) {
	if err := rs.round.failover(rs.session, cause, rs.now); err != nil {
		return "", err
	}
	if rs.round.Phase == PhaseFailed {
		rs.failSession(rs.round.failure)
		return "RoundFailed", nil
	}
	return "AggregatorFailedOver", nil
}

// failCollection fails the round whose collect deadline passed with too few updates.
func (rs *roundState) failCollection() {
	reason := fmt.Sprintf("round %d: %d of %d participants submitted an update before the collect deadline; quorum is %d",
		rs.round.number(), len(rs.round.Updates), len(rs.session.Participants), rs.session.Quorum)
	rs.round.fail(rs.now, reason)
	rs.failSession(reason)
}

// failSession ends the session for the reason its round failed.
func (rs *roundState) failSession(reason string) {
	rs.session.Status, rs.session.FailureReason = SessionFailed, reason
	rs.sessionChanged = true
}

// commit stores what a transaction that read the whole round changed: the
// proposals it retired, the round's header and, if changed, the session.
// It emits the event and returns the round as GetRound shows it afterwards.
func (rs *roundState) commit(event, sha256 string) (string, error) {
	for _, rejected := range rs.round.retired {
		if err := saveRejected(rs.stub, rs.session.SessionID, rs.round.number(), rejected); err != nil {
			return "", err
		}
	}
	if err := saveRound(rs.stub, rs.round.Round); err != nil {
		return "", err
	}
	if rs.sessionChanged {
		if err := saveSession(rs.stub, rs.session); err != nil {
			return "", err
		}
	}
	return rs.respond(event, sha256)
}

// respond emits the transaction's event and returns the round as it read it.
func (rs *roundState) respond(event, sha256 string) (string, error) {
	if err := emit(rs.stub, roundEvent(event, rs.who.id, rs.round.Round, sha256)); err != nil {
		return "", err
	}
	return toJSON(rs.round.Round)
}

// roundEvent builds the payload of a round transaction's event.
func roundEvent(name, actor string, round Round, sha256 string) Event {
	return Event{
		Aggregator: round.Aggregator, Attempt: round.Attempt, Event: name, NodeID: actor,
		Phase: round.Phase, Round: round.Round, SessionID: round.SessionID, SHA256: sha256,
	}
}

func seconds(n int64) time.Duration {
	return time.Duration(n) * time.Second
}

func readRound(stub shim.ChaincodeStubInterface, sessionID string, r int) (Round, bool, error) {
	var round Round
	key, err := roundKey(stub, sessionID, r)
	if err != nil {
		return round, false, err
	}
	found, err := readJSON(stub, key, &round)
	return round, found, err
}

// saveRound stores a round's header: the round without the entries that have
// keys of their own (updates, verdicts, rejected proposals).
func saveRound(stub shim.ChaincodeStubInterface, round Round) error {
	key, err := roundKey(stub, round.SessionID, round.Round)
	if err != nil {
		return err
	}
	round.Updates, round.Endorsements, round.RejectedProposals = map[string]Update{}, map[string]Endorsement{}, []RejectedProposal{}
	return writeJSON(stub, key, round)
}
