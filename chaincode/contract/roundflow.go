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

// roundState is what a round transaction works on: the caller, the clock and
// the current session and round, already checked to belong together.
type roundState struct {
	stub    shim.ChaincodeStubInterface
	who     caller
	now     time.Time
	session Session
	round   Round
	// retired is the proposal this transaction rejected, if any; it is stored
	// under its own key, which reads of this transaction cannot see yet.
	retired []RejectedProposal
}

// openRound writes round r of session in "collecting" with its first aggregator.
func openRound(stub shim.ChaincodeStubInterface, session Session, r int, now time.Time) (Round, error) {
	aggregator, err := ElectAggregator(session.Participants, r, 0)
	if err != nil {
		return Round{}, fail(CodeInternal, "session %s: %v", session.SessionID, err)
	}
	opened := now.Truncate(time.Second)
	round := Round{
		Aggregator: aggregator, Endorsements: map[string]Endorsement{}, OpenedAt: formatTime(opened),
		Phase: PhaseCollecting, PhaseDeadline: formatTime(opened.Add(seconds(session.Deadlines.CollectSeconds))),
		RejectedProposals: []RejectedProposal{}, Round: r, SessionID: session.SessionID, Updates: map[string]Update{},
	}
	return round, saveRound(stub, round)
}

// enterPhase moves the round to phase with a fresh deadline of the given length.
func (rs *roundState) enterPhase(phase string, length int64) {
	rs.round.Phase = phase
	rs.round.PhaseDeadline = formatTime(rs.now.Truncate(time.Second).Add(seconds(length)))
}

// startAggregation closes collection and hands the round to its aggregator.
func (rs *roundState) startAggregation() {
	rs.enterPhase(PhaseAggregating, rs.session.Deadlines.AggregateSeconds)
}

// failover retires the current proposal, if any, and elects the next
// aggregator. Once the round has used maxAttempts, it fails instead, so that
// proposals that never pass cannot keep a round (and its ledger records)
// growing. It returns the event name.
func (rs *roundState) failover(cause string) (string, error) {
	round := &rs.round
	if round.Proposal != nil {
		rejected := RejectedProposal{Proposal: *round.Proposal, Cause: cause, Endorsements: round.Endorsements, RejectedAt: formatTime(rs.now)}
		if err := saveRejected(rs.stub, round.SessionID, round.Round, rejected); err != nil {
			return "", err
		}
		rs.retired = append(rs.retired, rejected)
	}
	round.Proposal, round.Endorsements = nil, map[string]Endorsement{}
	if limit := maxAttempts(len(rs.session.Participants)); round.Attempt+1 >= limit {
		reason := fmt.Sprintf("round %d: no aggregate passed in %d attempts (the last ended by %s); every participant had the aggregator role %d times",
			round.Round, limit, cause, attemptsPerParticipant)
		return "RoundFailed", rs.failRound(reason)
	}
	round.Attempt++
	aggregator, err := ElectAggregator(rs.session.Participants, round.Round, round.Attempt)
	if err != nil {
		return "", fail(CodeInternal, "session %s: %v", rs.session.SessionID, err)
	}
	round.Aggregator = aggregator
	rs.startAggregation()
	return "AggregatorFailedOver", nil
}

// finalize makes the current proposal the round's result and either opens the
// next round or completes the session. It returns the event name.
func (rs *roundState) finalize() (string, error) {
	rs.round.Phase, rs.round.FinalSHA256 = PhaseFinal, rs.round.Proposal.SHA256
	rs.round.PhaseDeadline = ""
	if rs.round.Round >= rs.session.Rounds {
		rs.session.Status, rs.session.FinalAdapterSHA256 = SessionCompleted, rs.round.FinalSHA256
		return "SessionCompleted", saveSession(rs.stub, rs.session)
	}
	rs.session.CurrentRound = rs.round.Round + 1
	if _, err := openRound(rs.stub, rs.session, rs.session.CurrentRound, rs.now); err != nil {
		return "", err
	}
	return "RoundFinalized", saveSession(rs.stub, rs.session)
}

// failRound ends the round and the session for the given reason.
func (rs *roundState) failRound(reason string) error {
	rs.round.Phase, rs.round.PhaseDeadline = PhaseFailed, ""
	rs.session.Status, rs.session.FailureReason = SessionFailed, reason
	return saveSession(rs.stub, rs.session)
}

// failCollection fails the round whose collect deadline passed with too few updates.
func (rs *roundState) failCollection() error {
	return rs.failRound(fmt.Sprintf("round %d: %d of %d participants submitted an update before the collect deadline; quorum is %d",
		rs.round.Round, len(rs.round.Updates), len(rs.session.Participants), rs.session.Quorum))
}

// settle decides the round after a verdict: final once the accepting verdicts
// pass (quorum, from two orgs), failover once the participants that have not
// rejected can no longer pass it, otherwise keep endorsing. It returns the
// event name; fallback names the event when nothing is decided.
func (rs *roundState) settle(fallback string) (string, error) {
	votes := rs.countVerdicts()
	switch {
	case votes.passes(rs.session.Quorum):
		return rs.finalize()
	case !votes.reachable(rs.session.Quorum):
		return rs.failover(causeRejected)
	}
	return fallback, nil
}

// commit saves the round and emits its event; it returns the round as JSON,
// with its rejected proposals, as GetRound would show it after the commit.
func (rs *roundState) commit(event, sha256 string) (string, error) {
	if err := saveRound(rs.stub, rs.round); err != nil {
		return "", err
	}
	if err := emit(rs.stub, roundEvent(event, rs.who.id, rs.round, sha256)); err != nil {
		return "", err
	}
	result, err := withRejected(rs.stub, rs.round)
	if err != nil {
		return "", err
	}
	result.RejectedProposals = append(result.RejectedProposals, rs.retired...)
	return toJSON(result)
}

// roundEvent builds the payload that lets a node act without another query.
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

// saveRound stores a round without its rejected proposals, which have keys of their own.
func saveRound(stub shim.ChaincodeStubInterface, round Round) error {
	key, err := roundKey(stub, round.SessionID, round.Round)
	if err != nil {
		return err
	}
	round.RejectedProposals = []RejectedProposal{}
	return writeJSON(stub, key, round)
}
