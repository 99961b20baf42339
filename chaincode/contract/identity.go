package contract

import (
	"reflect"
	"slices"
	"strings"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// caller is the identity behind a transaction, taken from its certificate.
type caller struct {
	admin      bool
	commonName string
	id         string
	mspID      string
}

// callerOf derives the caller from the client certificate and checks that it
// belongs to a member org. Fabric has already validated the certificate
// against the channel MSPs; the orderer org takes part in ordering only.
func callerOf(ctx contractapi.TransactionContextInterface) (caller, error) {
	identity := ctx.GetClientIdentity()
	if identity == nil || isNilPointer(identity) {
		return caller{}, fail(CodeNotMember, "the transaction carries no client identity")
	}
	mspID, err := identity.GetMSPID()
	if err != nil || mspID == "" {
		return caller{}, fail(CodeNotMember, "the caller's MSP id cannot be read")
	}
	if strings.HasSuffix(mspID, "OrdererMSP") {
		return caller{}, fail(CodeNotMember, "%s is the ordering org, not a consortium member", mspID)
	}
	cert, err := identity.GetX509Certificate()
	if err != nil || cert == nil || cert.Subject.CommonName == "" {
		return caller{}, fail(CodeNotMember, "the caller's certificate from %s has no common name", mspID)
	}
	// The same test as cid's HasOUValue("admin"): NodeOUs put the role in the OU.
	admin := slices.Contains(cert.Subject.OrganizationalUnit, "admin")
	cn := cert.Subject.CommonName
	return caller{admin: admin, commonName: cn, id: mspID + "/" + cn, mspID: mspID}, nil
}

// requireAdmin checks that the caller holds its org's admin role (NodeOU "admin").
func requireAdmin(who caller, action string) error {
	if !who.admin {
		return fail(CodeNotAdmin, "%s is not an org admin; only an admin certificate (NodeOU admin) may %s", who.id, action)
	}
	return nil
}

// isNilPointer catches the typed nil that contractapi stores when the creator
// bytes cannot be parsed; calling methods on it would panic.
func isNilPointer(v any) bool {
	value := reflect.ValueOf(v)
	return value.Kind() == reflect.Pointer && value.IsNil()
}
