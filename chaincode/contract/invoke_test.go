package contract_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"testing"
	"time"

	"fedlora/chaincode/contract"

	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
)

// These tests go through contractapi itself: transaction routing, argument
// passing, the client identity parsed from a real certificate, and how
// results and errors reach the peer.

// serializedIdentity returns creator bytes as Fabric builds them: an MSP id
// and a PEM certificate carrying the CN and the NodeOU role.
func serializedIdentity(t *testing.T, mspID, cn, ou string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	template := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn, OrganizationalUnit: []string{ou}},
		NotBefore: start.Add(-time.Hour), NotAfter: start.Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	require.NoError(t, err)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	creator, err := proto.Marshal(&msp.SerializedIdentity{Mspid: mspID, IdBytes: certPEM})
	require.NoError(t, err)
	return creator
}

type peerSim struct {
	t    *testing.T
	stub *fakeStub
	seq  int
}

func newPeerSim(t *testing.T) *peerSim {
	t.Cleanup(contract.SetPeerClock(func() time.Time { return start }))
	return &peerSim{t: t, stub: newFakeStub()}
}

// invoke runs one transaction through the chaincode as creator, committing on success.
func (p *peerSim) invoke(creator []byte, args ...string) *peer.Response {
	p.t.Helper()
	cc, err := contract.NewChaincode()
	require.NoError(p.t, err)
	p.seq++
	p.stub.begin(fmt.Sprintf("ptx%04d", p.seq), start, args)
	p.stub.creator = creator
	response := cc.Invoke(p.stub)
	if response.GetStatus() == 200 {
		p.stub.commit()
	}
	return response
}

func TestInvokeRoutesQualifiedAndBareNames(t *testing.T) {
	sim := newPeerSim(t)
	client := serializedIdentity(t, "Org1MSP", "node-a.org1.example.com", "client")
	response := sim.invoke(client, "fedlora:RegisterNode", "node-a:7443", hash("tls"))
	require.Equal(t, int32(200), response.GetStatus(), response.GetMessage())
	node := decode[contract.Node](t, string(response.GetPayload()))
	require.Equal(t, "Org1MSP/node-a.org1.example.com", node.NodeID)
	require.Equal(t, "NodeRegistered", sim.stub.event.name)

	bare := sim.invoke(client, "GetNode", node.NodeID)
	require.Equal(t, int32(200), bare.GetStatus(), bare.GetMessage())
	require.JSONEq(t, string(response.GetPayload()), string(bare.GetPayload()))

	history := sim.invoke(client, "fedlora:History", "node", node.NodeID)
	require.Equal(t, int32(200), history.GetStatus(), history.GetMessage())
	require.Len(t, decode[[]contract.HistoryEntry](t, string(history.GetPayload())), 1)
}

func TestInvokeReportsCodedErrors(t *testing.T) {
	sim := newPeerSim(t)
	client := serializedIdentity(t, "Org1MSP", "node-a.org1.example.com", "client")
	admin := serializedIdentity(t, "Org1MSP", "Admin@org1.example.com", "admin")
	spec := encode(t, sessionSpec("s1", 1, 1))

	missing := sim.invoke(client, "fedlora:GetNode", "Org1MSP/nobody")
	require.Equal(t, int32(500), missing.GetStatus())
	require.Equal(t, "[NOT_FOUND] node Org1MSP/nobody is not registered", missing.GetMessage())

	denied := sim.invoke(client, "fedlora:CreateSession", spec)
	require.Equal(t, int32(500), denied.GetStatus())
	require.Regexp(t, `^\[NOT_ADMIN\] `, denied.GetMessage())
	created := sim.invoke(admin, "fedlora:CreateSession", spec)
	require.Equal(t, int32(200), created.GetStatus(), created.GetMessage())

	garbled := sim.invoke([]byte("not an identity"), "fedlora:RegisterNode", "x:1", hash("tls"))
	require.Equal(t, int32(500), garbled.GetStatus())
	require.Regexp(t, `^\[NOT_MEMBER\] `, garbled.GetMessage())
}

func TestPanicsFailOneTransactionOnly(t *testing.T) {
	sim := newPeerSim(t)
	client := serializedIdentity(t, "Org1MSP", "node-a.org1.example.com", "client")
	sim.stub.panicOnRead = true
	response := sim.invoke(client, "fedlora:RegisterNode", "node-a:7443", hash("tls"))
	require.Equal(t, int32(500), response.GetStatus())
	require.Equal(t, "[INTERNAL] RegisterNode failed unexpectedly: simulated bug", response.GetMessage())

	sim.stub.panicOnRead = false
	sim.stub.getStateErr = errors.New("leveldb closed")
	failing := sim.invoke(client, "fedlora:GetNode", "Org1MSP/x")
	require.Equal(t, "[INTERNAL] failed to read state: leveldb closed", failing.GetMessage())

	sim.stub.getStateErr = nil
	again := sim.invoke(client, "fedlora:RegisterNode", "node-a:7443", hash("tls"))
	require.Equal(t, int32(200), again.GetStatus(), again.GetMessage())
}

func TestMetadataMarksQueriesAsEvaluate(t *testing.T) {
	sim := newPeerSim(t)
	response := sim.invoke(nil, "org.hyperledger.fabric:GetMetadata")
	require.Equal(t, int32(200), response.GetStatus(), response.GetMessage())
	var metadata struct {
		Contracts map[string]struct {
			Transactions []struct {
				Name string   `json:"name"`
				Tag  []string `json:"tag"`
			} `json:"transactions"`
		} `json:"contracts"`
	}
	require.NoError(t, json.Unmarshal(response.GetPayload(), &metadata))
	tags := map[string][]string{}
	for _, tx := range metadata.Contracts["fedlora"].Transactions {
		tags[tx.Name] = tx.Tag
	}
	for _, name := range []string{"RegisterNode", "UpdateNode", "DeactivateNode", "CreateSession", "JoinSession", "StartSession", "SubmitUpdate", "ProposeAggregate", "EndorseAggregate", "ReportTimeout"} {
		require.Contains(t, tags, name)
		require.NotContains(t, tags[name], "EVALUATE", name)
	}
	for _, name := range (&contract.Contract{}).GetEvaluateTransactions() {
		require.Contains(t, tags[name], "EVALUATE", name)
	}
}
