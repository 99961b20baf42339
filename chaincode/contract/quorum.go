package contract

import "strings"

// A round is final only on accepting verdicts from more than half of the
// participants (the quorum, fixed above n/2) that also come from at least
// minFinalOrgs distinct organisations. Counting nodes alone would let one org
// that enrols many node identities, or an aggregator with quorum 1, decide a
// round by itself; counting orgs alone would ignore how many sites checked
// the aggregate.
const minFinalOrgs = 2

// checkQuorum enforces n/2 < quorum <= n; n == 0 means participants are not known yet.
func checkQuorum(quorum, participants int) error {
	if quorum < 1 {
		return fail(CodeBadArgument, "quorum %d is invalid; it must be at least 1", quorum)
	}
	if participants == 0 {
		return nil
	}
	if quorum > participants {
		return fail(CodeBadArgument, "quorum %d exceeds the %d participants; lower the quorum or add participants", quorum, participants)
	}
	if quorum < majority(participants) {
		return fail(CodeBadArgument, "quorum %d is not a majority of the %d participants; pass %d..%d", quorum, participants, majority(participants), participants)
	}
	return nil
}

// majority is the smallest number of participants that is more than half of n.
func majority(n int) int {
	return n/2 + 1
}

// checkOrgSpread requires participants from at least minFinalOrgs orgs, without
// which no round of the session could ever become final.
func checkOrgSpread(sessionID string, participants []string) error {
	if orgs := distinctOrgs(participants); orgs < minFinalOrgs {
		return fail(CodeBadArgument, "the participants of session %s come from %d org; a round needs verdicts from %d orgs, so enrol nodes of at least %d",
			sessionID, orgs, minFinalOrgs, minFinalOrgs)
	}
	return nil
}

// mspOf returns the MSP id part of a node id "<mspId>/<certificate CN>".
func mspOf(nodeID string) string {
	msp, _, _ := strings.Cut(nodeID, "/")
	return msp
}

// distinctOrgs counts the orgs (MSP ids) among node ids.
func distinctOrgs(nodeIDs []string) int {
	orgs := map[string]bool{}
	for _, nodeID := range nodeIDs {
		orgs[mspOf(nodeID)] = true
	}
	return len(orgs)
}

// countOrg counts the participants of session from org msp.
func countOrg(participants []string, msp string) int {
	count := 0
	for _, nodeID := range participants {
		if mspOf(nodeID) == msp {
			count++
		}
	}
	return count
}

// tally is the state of the verdicts on the current proposal.
type tally struct {
	// accepting are the participants that accepted the proposed hash.
	accepting []string
	// open are the participants that accepted or have not given a verdict yet:
	// those that could still make up a quorum.
	open []string
}

// countVerdicts tallies the verdicts on the proposed hash, in participant order.
func countVerdicts(participants []string, verdicts map[string]Endorsement, proposed string) tally {
	var votes tally
	for _, nodeID := range participants {
		verdict, given := verdicts[nodeID]
		onProposal := given && verdict.SHA256 == proposed
		if onProposal && verdict.Accept {
			votes.accepting = append(votes.accepting, nodeID)
		}
		if !onProposal || verdict.Accept {
			votes.open = append(votes.open, nodeID)
		}
	}
	return votes
}

// passes reports whether the accepting verdicts make the round final.
func (votes tally) passes(quorum int) bool {
	return len(votes.accepting) >= quorum && distinctOrgs(votes.accepting) >= minFinalOrgs
}

// reachable reports whether the participants that have not rejected could still pass.
func (votes tally) reachable(quorum int) bool {
	return len(votes.open) >= quorum && distinctOrgs(votes.open) >= minFinalOrgs
}
