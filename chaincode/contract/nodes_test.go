package contract_test

import (
	"testing"
	"time"

	"fedlora/chaincode/contract"

	"github.com/stretchr/testify/require"
)

func TestRegisterNodeTakesIdentityFromTheCertificate(t *testing.T) {
	l := newLedger(t)
	node := decode[contract.Node](t, l.ok(nodeA, "RegisterNode", "10.0.0.5:7443", hash("tls a")))

	require.Equal(t, contract.Node{
		CommonName: nodeA.cn, Endpoint: "10.0.0.5:7443", MSPID: "Org1MSP", NodeID: "Org1MSP/node-a.org1.example.com",
		RegisteredAt: stamp(start), Status: "active", TLSCertSHA256: hash("tls a"), UpdatedAt: stamp(start),
	}, node)
	stored := decode[contract.Node](t, l.ok(nodeB, "GetNode", nodeA.nodeID()))
	require.Equal(t, node, stored)
	require.Equal(t, contract.Event{Event: "NodeRegistered", NodeID: nodeA.nodeID(), TxID: "tx0001"}, l.lastEvent())
}

func TestRegisterNodeRejectsBadCallersAndArguments(t *testing.T) {
	l := newLedger(t)
	l.fails(contract.CodeNotMember, orderer, "RegisterNode", "orderer:7050", hash("tls o"))
	l.fails(contract.CodeNotMember, identity{msp: "Org1MSP"}, "RegisterNode", "x:1", hash("tls x"))
	for _, endpoint := range []string{"", "no-port", ":7443", "host:0", "host:70000", "host:port"} {
		l.fails(contract.CodeBadArgument, nodeA, "RegisterNode", endpoint, hash("tls a"))
	}
	for _, fingerprint := range []string{"", "abc", hash("x")[:63], "G" + hash("x")[1:], "A" + hash("x")[1:]} {
		l.fails(contract.CodeBadArgument, nodeA, "RegisterNode", "host:7443", fingerprint)
	}
	l.fails(contract.CodeNotFound, nodeB, "GetNode", nodeA.nodeID())

	l.register(nodeA)
	l.fails(contract.CodeAlreadyExists, nodeA, "RegisterNode", "other:7443", hash("tls other"))
	msg := l.fails(contract.CodeDuplicate, nodeB, "RegisterNode", "b:7443", hash("tls "+nodeA.nodeID()))
	require.Contains(t, msg, nodeA.nodeID())
}

func TestUpdateNodeChangesOnlyTheCallersRecord(t *testing.T) {
	l := newLedger(t)
	l.fails(contract.CodeNotRegistered, nodeA, "UpdateNode", "a:7443", hash("tls a2"))
	l.register(nodeA, nodeB)
	l.advance(time.Minute)

	node := decode[contract.Node](t, l.ok(nodeA, "UpdateNode", "a2.org1:9443", hash("tls a2")))
	require.Equal(t, "a2.org1:9443", node.Endpoint)
	require.Equal(t, hash("tls a2"), node.TLSCertSHA256)
	require.Equal(t, stamp(start), node.RegisteredAt)
	require.Equal(t, stamp(start.Add(time.Minute)), node.UpdatedAt)
	require.Equal(t, "NodeUpdated", l.lastEvent().Event)
	// Keeping its own fingerprint is fine; taking another node's is not.
	l.ok(nodeA, "UpdateNode", "a3.org1:9443", hash("tls a2"))
	l.fails(contract.CodeDuplicate, nodeA, "UpdateNode", "a3.org1:9443", hash("tls "+nodeB.nodeID()))
	l.fails(contract.CodeBadArgument, nodeA, "UpdateNode", "bad endpoint", hash("tls a2"))
}

func TestDeactivateNodeBySelfOrOwnOrgAdminOnly(t *testing.T) {
	l := newLedger(t)
	l.register(nodeA, nodeB, nodeD)
	l.fails(contract.CodeNotFound, admin1, "DeactivateNode", "Org1MSP/ghost")
	l.fails(contract.CodeNotAdmin, admin2, "DeactivateNode", nodeA.nodeID())
	l.fails(contract.CodeNotAdmin, nodeD, "DeactivateNode", nodeA.nodeID())
	l.fails(contract.CodeNotAdmin, nodeB, "DeactivateNode", nodeA.nodeID())

	node := decode[contract.Node](t, l.ok(admin1, "DeactivateNode", nodeA.nodeID()))
	require.Equal(t, "inactive", node.Status)
	require.Equal(t, contract.Event{Event: "NodeDeactivated", NodeID: admin1.nodeID(), Subject: nodeA.nodeID(), TxID: l.lastTxID()}, l.lastEvent())
	l.fails(contract.CodeDuplicate, nodeA, "DeactivateNode", nodeA.nodeID())
	l.fails(contract.CodeNotRegistered, nodeA, "UpdateNode", "a:7443", hash("tls a9"))
	l.fails(contract.CodeAlreadyExists, nodeA, "RegisterNode", "a:7443", hash("tls a9"))

	self := decode[contract.Node](t, l.ok(nodeB, "DeactivateNode", nodeB.nodeID()))
	require.Equal(t, "inactive", self.Status)
	require.Equal(t, nodeB.nodeID(), l.lastEvent().NodeID)
	require.Equal(t, nodeB.nodeID(), l.lastEvent().Subject)
}

func TestListNodesIsSortedAndKeepsInactiveNodes(t *testing.T) {
	l := newLedger(t)
	require.JSONEq(t, `[]`, l.ok(nodeA, "ListNodes"))
	l.register(nodeC, nodeA, nodeE, nodeB)
	l.ok(nodeE, "DeactivateNode", nodeE.nodeID())

	nodes := decode[[]contract.Node](t, l.ok(nodeA, "ListNodes"))
	var ids, statuses []string
	for _, node := range nodes {
		ids, statuses = append(ids, node.NodeID), append(statuses, node.Status)
	}
	require.Equal(t, []string{nodeA.nodeID(), nodeB.nodeID(), nodeE.nodeID(), nodeC.nodeID()}, ids)
	require.Equal(t, []string{"active", "active", "inactive", "active"}, statuses)
}
