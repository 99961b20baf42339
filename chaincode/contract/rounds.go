package contract

import (
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// SubmitUpdate records the caller's local adapter for the current round: once
// per participant, while the round is collecting and before its deadline. The
// hash must be new to the session, and numExamples at most the session's
// maxExamples. An optional sixth argument, epsilonSpent, is required in a
// session with a privacy budget (see checkBudget). It writes only the
// caller's update; once every participant has submitted, the round reads as
// "aggregating". Returns the Round as the transaction read it (the header and
// the caller's update); emits UpdateSubmitted.
func (c *Contract) SubmitUpdate(ctx contractapi.TransactionContextInterface, sessionID, round, sha256, numExamples, metricsJSON string) (out string, err error) {
	defer recoverPanic("SubmitUpdate", &out, &err)
	update, spentGiven, err := parseUpdate(ctx.GetStub(), sha256, numExamples, metricsJSON)
	if err != nil {
		return "", err
	}
	rs, err := loadRoundHeader(ctx, sessionID, round)
	if err == nil {
		err = rs.admitUpdate(update, spentGiven)
	}
	if err != nil {
		return "", explain(err, func() error {
			whole, err := loadRound(ctx, sessionID, round)
			if err != nil {
				return err
			}
			return whole.admitUpdate(update, spentGiven)
		})
	}
	if err := rs.indexUpdate(sha256); err != nil {
		return "", err
	}
	update.SubmittedAt, update.TxID = formatTime(rs.now), rs.stub.GetTxID()
	if err := saveUpdate(rs.stub, sessionID, rs.round.number(), rs.who.id, update); err != nil {
		return "", err
	}
	rs.round.Updates[rs.who.id] = update
	return rs.respond("UpdateSubmitted", sha256)
}

// ProposeAggregate records the elected aggregator's result: the aggregate hash,
// the exact inputs and weights, the rule and the optimizer-state hash. The
// proposal counts as the aggregator's own acceptance; the rule, name and
// parameters, must be the session's. Returns the Round; emits
// AggregateProposed.
func (c *Contract) ProposeAggregate(ctx contractapi.TransactionContextInterface, sessionID, round, proposalJSON string) (out string, err error) {
	defer recoverPanic("ProposeAggregate", &out, &err)
	input, err := parseProposal(proposalJSON)
	if err != nil {
		return "", err
	}
	rs, err := loadRound(ctx, sessionID, round)
	if err != nil {
		return "", err
	}
	if err := rs.requireAggregator(); err != nil {
		return "", err
	}
	if err := rs.checkProposal(&input); err != nil {
		return "", err
	}
	if err := rs.indexAggregate(input); err != nil {
		return "", err
	}
	rs.round.Proposal = &Proposal{
		Aggregator: rs.who.id, Attempt: rs.round.Attempt, Inputs: input.Inputs, OptimizerStateSHA256: input.OptimizerStateSHA256,
		ProposedAt: formatTime(rs.now), Rule: input.Rule, SHA256: input.SHA256, TxID: rs.stub.GetTxID(), Weights: input.Weights,
	}
	rs.round.Endorsements = withProposer(rs.round.Proposal, nil)
	// One acceptance from one org never passes (see minFinalOrgs), so the
	// round always waits for the other participants' verdicts.
	rs.round.enterPhase(PhaseEndorsing, rs.session.Deadlines.EndorseSeconds, rs.now)
	return rs.commit("AggregateProposed", input.SHA256)
}

// EndorseAggregate records a participant's verdict on the current proposal.
// The hash must be the proposed one. It writes only the caller's verdict: the
// round reads as final once quorum accepted the proposal (from at least two
// orgs), and moves to the next aggregator (or fails after its last attempt)
// once so many rejected that this is out of reach. Returns the Round as the
// transaction read it (the header, the proposer's and the caller's verdict);
// emits AggregateEndorsed or AggregateRejected.
func (c *Contract) EndorseAggregate(ctx contractapi.TransactionContextInterface, sessionID, round, sha256, accept, reason string) (out string, err error) {
	defer recoverPanic("EndorseAggregate", &out, &err)
	verdict, err := parseVerdict(sha256, accept, reason)
	if err != nil {
		return "", err
	}
	rs, err := loadRoundHeader(ctx, sessionID, round)
	if err == nil {
		err = rs.admitVerdict(verdict)
	}
	if err != nil {
		return "", explain(err, func() error {
			whole, err := loadRound(ctx, sessionID, round)
			if err != nil {
				return err
			}
			return whole.admitVerdict(verdict)
		})
	}
	verdict.At, verdict.TxID = formatTime(rs.now), rs.stub.GetTxID()
	if err := saveVerdict(rs.stub, sessionID, rs.round.number(), rs.round.Attempt, rs.who.id, verdict); err != nil {
		return "", err
	}
	rs.round.Endorsements[rs.who.id] = verdict
	event := "AggregateEndorsed"
	if !verdict.Accept {
		event = "AggregateRejected"
	}
	return rs.respond(event, sha256)
}

// ReportTimeout acts on a passed phase deadline (by transaction time). While
// collecting: with at least quorum updates the round moves to aggregating,
// with fewer the round and the session fail. While aggregating or endorsing:
// the next aggregator takes over, or, once the round has used all its
// attempts, the round and the session fail. Any participant may call it.
// Returns the Round; emits AggregationStarted, RoundFailed or
// AggregatorFailedOver.
func (c *Contract) ReportTimeout(ctx contractapi.TransactionContextInterface, sessionID, round string) (out string, err error) {
	defer recoverPanic("ReportTimeout", &out, &err)
	rs, err := loadRound(ctx, sessionID, round)
	if err != nil {
		return "", err
	}
	if err := rs.requireDeadlinePassed(); err != nil {
		return "", err
	}
	switch {
	case rs.round.Phase != PhaseCollecting:
		event, err := rs.failover(causeTimeout)
		if err != nil {
			return "", err
		}
		return rs.commit(event, "")
	case len(rs.round.Updates) >= rs.session.Quorum:
		rs.startAggregation()
		return rs.commit("AggregationStarted", "")
	default:
		rs.failCollection()
		return rs.commit("RoundFailed", "")
	}
}

// admitUpdate checks that the caller may submit this update now.
func (rs *roundState) admitUpdate(update Update, spentGiven bool) error {
	if err := rs.requireOpenPhase(PhaseCollecting, "SubmitUpdate"); err != nil {
		return err
	}
	if err := rs.checkUpdate(update); err != nil {
		return err
	}
	return rs.checkBudget(update, spentGiven)
}

// admitVerdict checks that the caller may give this verdict now.
func (rs *roundState) admitVerdict(verdict Endorsement) error {
	if err := rs.requireOpenPhase(PhaseEndorsing, "EndorseAggregate"); err != nil {
		return err
	}
	return rs.checkVerdict(verdict)
}

// explain returns the reason the whole round gives for refusing a transaction
// that its header alone refused: a refusal writes nothing, so it may read
// every entry, and the derived phase (final, aggregating) names the cause
// best. It keeps the header's reason when the whole round gives none.
func explain(refusal error, whole func() error) error {
	if err := whole(); err != nil {
		return err
	}
	return refusal
}
