// Package contract implements the fedlora consortium contract: the node
// registry, federated sessions, round-robin aggregator election, endorsement
// of aggregates by quorum, and the audit queries over that state.
package contract

import (
	"fmt"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// Name is the chaincode's contract name; transactions are "fedlora:<Name>".
const Name = "fedlora"

// Contract holds one exported method per transaction. Every method returns the
// JSON text of its result, so the payload bytes are exactly what the contract
// encodes, and recovers panics so that a bug fails one transaction instead of
// the chaincode process that all peers share.
type Contract struct {
	contractapi.Contract
}

// New returns the contract, named so that transactions are "fedlora:<Tx>".
func New() *Contract {
	c := &Contract{}
	c.Name = Name
	c.Info.Title = "fedlora consortium contract"
	c.Info.Version = "1.0.0"
	return c
}

// NewChaincode wraps the contract for the Fabric shim; it is also the default
// contract, so bare transaction names work too.
func NewChaincode() (*contractapi.ContractChaincode, error) {
	cc, err := contractapi.NewChaincode(New())
	if err != nil {
		return nil, fmt.Errorf("failed to create the %s chaincode: %w", Name, err)
	}
	cc.DefaultContract = Name
	return cc, nil
}

// GetEvaluateTransactions marks the read-only queries in the contract metadata.
func (c *Contract) GetEvaluateTransactions() []string {
	return []string{"GetNode", "ListNodes", "ListNodesPage", "GetSession", "ListSessions", "ListSessionsPage", "GetRound", "History", "AdapterLineage", "ExportTrail"}
}

// recoverPanic turns a panic inside a transaction into an INTERNAL error.
// Use as: defer recoverPanic("Tx", &out, &err).
func recoverPanic(tx string, out *string, err *error) {
	if recovered := recover(); recovered != nil {
		*out = ""
		*err = fail(CodeInternal, "%s failed unexpectedly: %v", tx, recovered)
	}
}
