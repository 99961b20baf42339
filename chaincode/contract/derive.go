package contract

import (
	"fmt"
	"sort"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
)

// No transaction writes the phase changes that follow from the participants'
// entries: the update that completes collection and the verdict that decides
// a proposal each write only their own key. The round's phase is derived
// whenever it is read, from its header (the value the round key holds) and
// its entries:
//
//   - collecting becomes aggregating once every participant has submitted, at
//     the time of the latest update;
//   - endorsing becomes final once the accepting verdicts pass (quorum, from
//     two orgs), and the next round opens at that time; it fails over to the
//     next aggregator (or, after the last attempt, fails) once the verdicts
//     make passing unreachable.
//
// Verdicts are taken in the order of their time, then transaction id; the
// decision's time is that of the verdict which decides, never earlier than
// the proposal. Whether a proposal passes depends only on the set of verdicts
// (passing and unreachable are both kept once reached, and exclude each
// other), so a verdict recorded after the decision cannot change it; with an
// earlier time it can only move the decision earlier, by at most the clock
// skew a transaction may have.

// roundView is a round as its header and entries make it.
type roundView struct {
	Round
	// decidedAt is when the verdicts made the round final, or failed it.
	decidedAt time.Time
	// retired are the proposals that lost their attempt by verdicts or by
	// this transaction, and are not stored under their own keys yet.
	retired []RejectedProposal
	// failure says why the round failed, when it failed since it was stored.
	failure string
}

// number is the round's number.
func (v roundView) number() int {
	return v.Round.Round
}

// deriveRound applies to a round's header the phase changes its entries make.
func deriveRound(session Session, header Round, entries roundEntries) (roundView, error) {
	view := roundView{Round: header}
	view.Updates = entries.updates
	view.Endorsements = map[string]Endorsement{}
	view.RejectedProposals = append([]RejectedProposal{}, entries.rejected...)
	switch header.Phase {
	case PhaseCollecting:
		return view, view.closeCollection(session)
	case PhaseEndorsing:
		view.Endorsements = withProposer(header.Proposal, entries.verdicts)
		return view, view.settle(session)
	}
	return view, nil
}

// withProposer returns the verdicts on a proposal with the proposer's own
// acceptance, which the proposal carries.
func withProposer(proposal *Proposal, verdicts map[string]Endorsement) map[string]Endorsement {
	all := map[string]Endorsement{}
	for nodeID, verdict := range verdicts {
		all[nodeID] = verdict
	}
	if proposal != nil {
		all[proposal.Aggregator] = Endorsement{Accept: true, At: proposal.ProposedAt, Reason: "proposed", SHA256: proposal.SHA256, TxID: proposal.TxID}
	}
	return all
}

// closeCollection starts aggregation once every participant has submitted.
func (v *roundView) closeCollection(session Session) error {
	latest, err := parseTime(v.OpenedAt)
	if err != nil {
		return err
	}
	for _, nodeID := range session.Participants {
		update, submitted := v.Updates[nodeID]
		if !submitted {
			return nil
		}
		at, err := parseTime(update.SubmittedAt)
		if err != nil {
			return err
		}
		if at.After(latest) {
			latest = at
		}
	}
	v.enterPhase(PhaseAggregating, session.Deadlines.AggregateSeconds, latest)
	return nil
}

// settle decides the proposal once its verdicts pass or can no longer pass.
func (v *roundView) settle(session Session) error {
	proposedAt, err := parseTime(v.Proposal.ProposedAt)
	if err != nil {
		return err
	}
	order, err := verdictOrder(v.Endorsements)
	if err != nil {
		return err
	}
	given := map[string]Endorsement{}
	for _, entry := range order {
		given[entry.nodeID] = entry.verdict
		at := entry.at
		if at.Before(proposedAt) {
			at = proposedAt
		}
		votes := countVerdicts(session.Participants, given, v.Proposal.SHA256)
		switch {
		case votes.passes(session.Quorum):
			v.Phase, v.FinalSHA256, v.PhaseDeadline, v.decidedAt = PhaseFinal, v.Proposal.SHA256, "", at
			return nil
		case !votes.reachable(session.Quorum):
			return v.failover(session, causeRejected, at)
		}
	}
	return nil
}

type timedVerdict struct {
	at      time.Time
	nodeID  string
	verdict Endorsement
}

// verdictOrder sorts verdicts by time, then transaction id.
func verdictOrder(verdicts map[string]Endorsement) ([]timedVerdict, error) {
	order := make([]timedVerdict, 0, len(verdicts))
	for nodeID, verdict := range verdicts {
		at, err := parseTime(verdict.At)
		if err != nil {
			return nil, err
		}
		order = append(order, timedVerdict{at: at, nodeID: nodeID, verdict: verdict})
	}
	sort.Slice(order, func(i, j int) bool {
		if !order[i].at.Equal(order[j].at) {
			return order[i].at.Before(order[j].at)
		}
		return order[i].verdict.TxID < order[j].verdict.TxID
	})
	return order, nil
}

// enterPhase moves the round to phase with a deadline length seconds after at.
func (v *roundView) enterPhase(phase string, length int64, at time.Time) {
	v.Phase = phase
	v.PhaseDeadline = formatTime(at.Truncate(time.Second).Add(seconds(length)))
}

// failover retires the current proposal, if any, with the verdicts it got,
// and elects the next aggregator. Once the round has used maxAttempts, it
// fails instead, so that proposals that never pass cannot keep a round (and
// its ledger records) growing.
func (v *roundView) failover(session Session, cause string, at time.Time) error {
	if v.Proposal != nil {
		rejected := RejectedProposal{Proposal: *v.Proposal, Cause: cause, Endorsements: v.Endorsements, RejectedAt: formatTime(at)}
		v.RejectedProposals = append(v.RejectedProposals, rejected)
		v.retired = append(v.retired, rejected)
	}
	v.Proposal, v.Endorsements = nil, map[string]Endorsement{}
	if limit := maxAttempts(len(session.Participants)); v.Attempt+1 >= limit {
		v.fail(at, fmt.Sprintf("round %d: no aggregate passed in %d attempts (the last ended by %s); every participant had the aggregator role %d times",
			v.number(), limit, cause, attemptsPerParticipant))
		return nil
	}
	v.Attempt++
	aggregator, err := ElectAggregator(session.Participants, v.number(), v.Attempt)
	if err != nil {
		return fail(CodeInternal, "session %s: %v", session.SessionID, err)
	}
	v.Aggregator = aggregator
	v.enterPhase(PhaseAggregating, session.Deadlines.AggregateSeconds, at)
	return nil
}

// fail ends the round (and with it the session) for the given reason.
func (v *roundView) fail(at time.Time, reason string) {
	v.Phase, v.PhaseDeadline, v.decidedAt, v.failure = PhaseFailed, "", at, reason
}

// newRound is round r of a session, opened in "collecting" at the given time
// with its first aggregator.
func newRound(session Session, r int, opened time.Time) (Round, error) {
	aggregator, err := ElectAggregator(session.Participants, r, 0)
	if err != nil {
		return Round{}, fail(CodeInternal, "session %s: %v", session.SessionID, err)
	}
	opened = opened.Truncate(time.Second)
	return Round{
		Aggregator: aggregator, Endorsements: map[string]Endorsement{}, OpenedAt: formatTime(opened),
		Phase: PhaseCollecting, PhaseDeadline: formatTime(opened.Add(seconds(session.Deadlines.CollectSeconds))),
		RejectedProposals: []RejectedProposal{}, Round: r, SessionID: session.SessionID, Updates: map[string]Update{},
	}, nil
}

// readRoundView returns round r of a stored session as it reads now: a round
// with a stored header, or the round after the stored current one, which
// opened when that one became final. found is false for any other round.
func readRoundView(stub shim.ChaincodeStubInterface, stored Session, r int) (view roundView, found bool, err error) {
	header, found, err := readNextHeader(stub, stored, r)
	if err != nil || !found {
		return roundView{}, false, err
	}
	entries, err := readRoundEntries(stub, header)
	if err != nil {
		return roundView{}, false, err
	}
	view, err = deriveRound(stored, header, entries)
	return view, true, err
}

// readNextHeader returns the stored header of round r, or the header of the
// round that opened implicitly after the stored current round became final.
func readNextHeader(stub shim.ChaincodeStubInterface, stored Session, r int) (Round, bool, error) {
	header, found, err := readRound(stub, stored.SessionID, r)
	if err != nil || found || r != stored.CurrentRound+1 || stored.Status != SessionRunning {
		return header, found, err
	}
	previous, found, err := readRoundView(stub, stored, stored.CurrentRound)
	if err != nil || !found || previous.Phase != PhaseFinal || previous.number() >= stored.Rounds {
		return Round{}, false, err
	}
	header, err = newRound(stored, r, previous.decidedAt)
	return header, err == nil, err
}

// currentSession returns a stored session as its current round makes it: the
// current round moves on once the stored one is final, the session completes
// when its last round is final, and fails when its round failed by verdicts.
func currentSession(stub shim.ChaincodeStubInterface, stored Session) (Session, error) {
	if stored.Status != SessionRunning {
		return stored, nil
	}
	current, found, err := readRoundView(stub, stored, stored.CurrentRound)
	if err == nil && !found {
		err = fail(CodeInternal, "round %d of running session %s is missing", stored.CurrentRound, stored.SessionID)
	}
	if err != nil {
		return stored, err
	}
	return advanceSession(stored, current), nil
}

// advanceSession applies the outcome of the stored current round to its session.
func advanceSession(session Session, current roundView) Session {
	switch {
	case current.Phase == PhaseFinal && current.number() >= session.Rounds:
		session.Status, session.FinalAdapterSHA256 = SessionCompleted, current.FinalSHA256
	case current.Phase == PhaseFinal:
		session.CurrentRound = current.number() + 1
	case current.Phase == PhaseFailed && current.failure != "":
		session.Status, session.FailureReason = SessionFailed, current.failure
	}
	return session
}
