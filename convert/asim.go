package convert

import (
	"bytes"
	"strconv"
	"strings"
)

// ASIMSchema is one of Microsoft Sentinel's normalized schemas (ASIM) that
// a Keeper event goes to.
type ASIMSchema uint8

// The schemas, in stream order: Records.Stream returns these values.
const (
	ASIMAuthentication ASIMSchema = iota // sign-ins to Keeper: ASimAuthenticationEventLogs
	ASIMUserManagement                   // users, roles and teams: ASimUserManagementActivityLogs
	ASIMAudit                            // everything else: ASimAuditEventLogs
	numASIMSchemas
)

// ASIMSchemas lists the schemas in stream order.
func ASIMSchemas() []ASIMSchema {
	return []ASIMSchema{ASIMAuthentication, ASIMUserManagement, ASIMAudit}
}

// String returns the schema's EventSchema name.
func (s ASIMSchema) String() string {
	switch s {
	case ASIMAuthentication:
		return "Authentication"
	case ASIMUserManagement:
		return "UserManagement"
	case ASIMAudit:
		return "AuditEvent"
	}
	return "ASIMSchema(" + strconv.Itoa(int(s)) + ")"
}

// Table returns the Log Analytics table that holds the schema's rows.
func (s ASIMSchema) Table() string {
	switch s {
	case ASIMAuthentication:
		return "ASimAuthenticationEventLogs"
	case ASIMUserManagement:
		return "ASimUserManagementActivityLogs"
	}
	return "ASimAuditEventLogs"
}

// Version returns the schema version the rows follow (EventSchemaVersion).
func (s ASIMSchema) Version() string {
	switch s {
	case ASIMAuthentication:
		return "0.1.4"
	case ASIMUserManagement:
		return "0.1.2"
	}
	return "0.1.2"
}

// ASIMEvent is the class of one Keeper audit event in ASIM.
type ASIMEvent struct {
	Event string // Keeper's audit_event
	// Name is Keeper's display name for it (Commander's list), "" for an
	// event outside that list.
	Name string
	// Source says where an event outside Commander's list was seen.
	Source    string
	Schema    ASIMSchema
	EventType string // the schema's EventType
	Result    string // EventResult: Success, Failure or Partial
	Severity  string // EventSeverity: Informational, Low, Medium or High
	// ResultDetails is a failure's EventResultDetails, from the schema's
	// list; "" means Other.
	ResultDetails string
	// LogonMethod is, for Authentication, the LogonMethod column.
	LogonMethod string
	// UpdatedProperty is, for UserManagement, the property the event
	// changes (AdditionalFields.UpdatedPropertyName).
	UpdatedProperty string
	// ObjectType is, for Audit, the ObjectType column.
	ObjectType string
}

// ASIMCatalogue returns the class of every Keeper audit event known, in
// the order of their names. An event not in it goes to the Audit schema
// with EventType Other.
func ASIMCatalogue() []ASIMEvent { return keeperEvents() }

// ASIM's fixed values for Keeper. Microsoft allocates EventVendor and
// EventProduct designators; these are not (yet) among them (README). Keeper
// is a cloud source with no device of its own, so Dvc, through DvcHostname,
// is the EventProduct value, as Microsoft's common fields say.
const (
	asimVendor  = "Keeper Security"
	asimProduct = "Keeper"
)

// asimClass is a catalogue entry with the JSON its rows share, written
// once when the Converter is made, so that a row copies it.
type asimClass struct {
	ASIMEvent
	// head follows the times: EventCount to EventResult, and a failure's
	// EventResultDetails.
	head string
	// mid follows EventOriginalResultDetails: EventSeverity and, for an
	// event of the catalogue, EventOriginalType (an unknown event's name is
	// written per row).
	mid string
	// operation is an Audit row's Operation, "" for an unknown event.
	operation string
	// own is the constant columns of the schema's own: Authentication's
	// target application and logon method, Audit's ObjectType.
	own string
	// ownAccount: a UserManagement event that, without a user named
	// otherwise, changes the actor's own account (EventType User* or
	// Password*).
	ownAccount bool
}

// newASIMClass returns the class of catalogue entry ev, or of an unknown
// event when ev.Event is "".
func newASIMClass(ev ASIMEvent) *asimClass {
	b := []byte(`","EventCount":1,"EventVendor":"` + asimVendor + `","EventProduct":"` + asimProduct + `","DvcHostname":"` + asimProduct + `"`)
	if ev.Schema == ASIMUserManagement {
		b = append(b, `,"EventSchema":"UserManagement"`...)
	}
	b = appendConst(b, "EventSchemaVersion", ev.Schema.Version())
	b = appendConst(b, "EventType", ev.EventType)
	b = appendConst(b, "EventResult", ev.Result)
	if ev.Result == "Failure" {
		b = appendConst(b, "EventResultDetails", resultDetails(ev))
	}
	class := &asimClass{ASIMEvent: ev, head: string(b),
		ownAccount: strings.HasPrefix(ev.EventType, "User") || strings.HasPrefix(ev.EventType, "Password")}
	b = appendConst(nil, "EventSeverity", ev.Severity)
	if ev.Event != "" {
		name, _ := appendEscaped([]byte(`"`), []byte(ev.Event))
		name = append(name, '"')
		b = append(append(b, `,"EventOriginalType":`...), name...)
		class.operation = `,"Operation":` + string(name)
	}
	class.mid = string(b)
	b = b[:0]
	switch ev.Schema {
	case ASIMAuthentication:
		b = append(b, `,"TargetAppName":"`+asimProduct+`","TargetAppType":"SaaS application"`...)
		if ev.LogonMethod != "" {
			b = appendConst(b, "LogonMethod", ev.LogonMethod)
		}
	case ASIMAudit:
		if ev.ObjectType != "" {
			b = appendConst(b, "ObjectType", ev.ObjectType)
		}
	}
	class.own = string(b)
	return class
}

// unknownEvent is the class of an event the catalogue does not know.
func unknownEvent() ASIMEvent {
	return ASIMEvent{Schema: ASIMAudit, EventType: "Other", Result: "Success", Severity: "Informational", ObjectType: "Other"}
}

// ASIMColumns returns the columns a row of schema s may have, in the order
// they are written, with their Log Analytics types: the declaration of the
// DCR's input stream for s.
func ASIMColumns(s ASIMSchema) [][2]string {
	cols := [][2]string{
		{"TimeGenerated", "datetime"}, {"EventStartTime", "datetime"}, {"EventEndTime", "datetime"},
		{"EventCount", "int"}, {"EventVendor", "string"}, {"EventProduct", "string"}, {"DvcHostname", "string"},
	}
	if s == ASIMUserManagement {
		cols = append(cols, [2]string{"EventSchema", "string"})
	}
	cols = append(cols, [][2]string{
		{"EventSchemaVersion", "string"}, {"EventType", "string"},
		{"EventResult", "string"}, {"EventResultDetails", "string"}, {"EventOriginalResultDetails", "string"},
		{"EventSeverity", "string"}, {"EventOriginalType", "string"}, {"EventMessage", "string"},
		{"ActorUsername", "string"}, {"ActorUsernameType", "string"},
	}...)
	switch s {
	case ASIMAuthentication:
		cols = append(cols, [][2]string{
			{"TargetUsername", "string"}, {"TargetUsernameType", "string"},
			{"TargetAppName", "string"}, {"TargetAppType", "string"}, {"LogonMethod", "string"},
		}...)
	case ASIMUserManagement:
		cols = append(cols, [][2]string{
			{"TargetUsername", "string"}, {"TargetUsernameType", "string"},
			{"GroupId", "string"}, {"GroupType", "string"}, {"GroupOriginalType", "string"},
			{"NewPropertyValue", "string"},
		}...)
	case ASIMAudit:
		cols = append(cols, [][2]string{
			{"Operation", "string"}, {"Object", "string"}, {"ObjectId", "string"}, {"ObjectType", "string"},
			{"OriginalObjectType", "string"}, {"NewValue", "string"}, {"ValueType", "string"},
		}...)
	}
	return append(cols, [][2]string{
		{"SrcIpAddr", "string"}, {"ActingAppName", "string"}, {"ActingAppType", "string"}, {"AdditionalFields", "dynamic"},
	}...)
}

// consumed marks a data field that an ASIM column took.
const consumed role = 100

// asim writes the ASIM row of the Keeper event in the map at the start of
// body and returns its schema.
func (c *Converter) asim(e *encoder, body []byte, t instant) ([]byte, ASIMSchema, error) {
	var ev event
	rest, err := c.readEvent(e, &ev, body, t)
	if err != nil {
		return rest, 0, err
	}
	r := asimRow{e: e, ev: &ev, class: c.unknown}
	if i := ev.cols[colAuditEvent]; i >= 0 {
		if n, ok := keyName(e.fields[i].val()); ok {
			r.name = n
			if k, ok := c.catalogue[string(n)]; ok {
				r.class = k
			}
		}
	}
	e.indexData()
	r.common()
	switch r.class.Schema {
	case ASIMAuthentication:
		r.authentication()
	case ASIMUserManagement:
		r.userManagement()
	case ASIMAudit:
		r.audit()
	}
	client := r.source()
	err = r.additionalFields(c.opts.EnterpriseID, client)
	return rest, r.class.Schema, err
}

// asimRow is one ASIM row being written: the event read, its class, and
// where the JSON of its name and user stand in the row, for the columns
// that repeat them.
type asimRow struct {
	e               *encoder
	ev              *event
	class           *asimClass
	name, user      []byte // the event's name and user, nil when absent
	nameAt, nameEnd int
	userAt, userEnd int
}

// common writes the columns every schema has: the times, the class's
// constant columns, the original result details and message, and the
// actor.
func (r *asimRow) common() {
	e, class := r.e, r.class
	e.buf = append(e.buf, `{"`+timeGenerated+`":"`...)
	tpos := len(e.buf)
	e.buf = appendMillis(e.buf, r.ev.time)
	e.buf = append(e.buf, `","EventStartTime":"`...)
	e.buf = append(e.buf, e.buf[tpos:tpos+millisLen]...)
	e.buf = append(e.buf, `","EventEndTime":"`...)
	e.buf = append(e.buf, e.buf[tpos:tpos+millisLen]...)
	e.buf = append(e.buf, class.head...)
	if class.Result == "Failure" {
		if !e.dataField(dResultCode, "EventOriginalResultDetails") {
			e.dataField(dStatus, "EventOriginalResultDetails")
		}
	}
	e.buf = append(e.buf, class.mid...)
	if class.Event == "" && r.name != nil {
		// An event the catalogue does not know: its name, escaped once,
		// is copied where the row repeats it (Operation).
		e.buf = append(e.buf, `,"EventOriginalType":`...)
		r.nameAt = len(e.buf)
		e.str(r.name)
		r.nameEnd = len(e.buf)
	}
	e.dataField(dMessage, "EventMessage")

	r.userAt = len(e.buf) + len(`,"ActorUsername":`)
	r.user = e.column(r.ev, colUsername, "ActorUsername")
	r.userEnd = len(e.buf)
	if r.user != nil {
		e.buf = appendConst(e.buf, "ActorUsernameType", usernameType(r.user))
	}
}

// targetIsActor writes the actor as the target user.
func (r *asimRow) targetIsActor() {
	e := r.e
	e.buf = append(e.buf, `,"TargetUsername":`...)
	e.buf = append(e.buf, e.buf[r.userAt:r.userEnd]...)
	e.buf = appendConst(e.buf, "TargetUsernameType", usernameType(r.user))
}

// authentication writes the Authentication schema's own columns.
func (r *asimRow) authentication() {
	e := r.e
	if r.user != nil {
		r.targetIsActor()
	}
	e.buf = append(e.buf, r.class.own...)
}

// userManagement writes the UserManagement schema's own columns.
func (r *asimRow) userManagement() {
	e, class := r.e, r.class
	target := e.takeString(dToUsername)
	if target == nil && class.UpdatedProperty == "" {
		// pending_added_to_role and its kin name the user in value.
		if v := e.peekString(dValue); bytes.IndexByte(v, '@') > 0 {
			target = e.takeString(dValue)
		}
	}
	switch {
	case target != nil:
		e.buf = append(e.buf, `,"TargetUsername":`...)
		e.str(target)
		e.buf = appendConst(e.buf, "TargetUsernameType", usernameType(target))
	case r.user != nil && class.ownAccount:
		r.targetIsActor()
	}
	// A Keeper role or team ID is neither of GroupIdType's kinds (a
	// Windows SID, a Linux UID): GroupIdType stays out.
	switch {
	case e.dataField(dRoleID, "GroupId"):
		e.buf = append(e.buf, `,"GroupType":"Other","GroupOriginalType":"Role"`...)
	case e.dataField(dTeamUID, "GroupId"):
		e.buf = append(e.buf, `,"GroupType":"Other","GroupOriginalType":"Team"`...)
	}
	if class.UpdatedProperty != "" {
		// Keeper's value is the new value of the property changed.
		e.dataField(dValue, "NewPropertyValue")
	}
}

// audit writes the AuditEvent schema's own columns.
func (r *asimRow) audit() {
	e := r.e
	switch {
	case r.class.operation != "":
		e.buf = append(e.buf, r.class.operation...)
	case r.name != nil:
		e.buf = append(e.buf, `,"Operation":`...)
		e.buf = append(e.buf, e.buf[r.nameAt:r.nameEnd]...)
	default:
		e.buf = append(e.buf, `,"Operation":"unknown"`...)
	}
	e.auditObject()
	e.buf = append(e.buf, r.class.own...)
	if e.dataField(dValue, "NewValue") {
		e.buf = append(e.buf, `,"ValueType":"Other"`...)
	}
}

// source writes where the event came from: SrcIpAddr and the acting
// application. It returns the field of client_version, -1 without one.
func (r *asimRow) source() int {
	e, ev := r.e, r.ev
	// SrcIpAddr must be an IP address (ASIM's testers reject anything
	// else); another remote_address stays in AdditionalFields.
	if i := ev.cols[colRemoteAddress]; i >= 0 {
		if v, ok := keyName(e.fields[i].val()); ok && isIP(v) {
			// An address is digits, hex letters, dots and colons, at
			// most 45 bytes: nothing to escape, never cut (the field
			// limit is at least 64 bytes).
			e.buf = append(e.buf, `,"SrcIpAddr":"`...)
			e.buf = append(e.buf, v...)
			e.buf = append(e.buf, '"')
			e.fields[i].role = consumed
		} else {
			e.fields[i].role = toData
		}
	}
	// The Keeper client the actor used is the acting application; its
	// client_version (name and version) stays in AdditionalFields.
	client := -1
	if i := ev.cols[colClientVersion]; i >= 0 && e.fields[i].role == toColumn {
		client = i
		if v, ok := keyName(e.fields[i].val()); ok {
			if n := clientName(v); len(n) > 0 {
				e.buf = append(e.buf, `,"ActingAppName":`...)
				e.str(n)
				e.buf = append(e.buf, `,"ActingAppType":"Other"`...)
			}
		}
	}
	return client
}

// additionalFields writes AdditionalFields, the end of the row: every
// other field of the event. The Keeper columns that have no ASIM column of
// their own come first; enterpriseID fills enterprise_id when the event has
// none.
func (r *asimRow) additionalFields(enterpriseID int64, client int) error {
	e, ev, class := r.e, r.ev, r.class
	e.buf = append(e.buf, `,"AdditionalFields":{`...)
	set := e.set(2)
	first := true
	// The members named here come first and differ: none is a duplicate,
	// and the set holds them for the data members that follow.
	if class.Schema == ASIMUserManagement && class.UpdatedProperty != "" {
		e.fixedKey(set, &first, `"UpdatedPropertyName":`)
		e.buf = append(e.buf, '"')
		e.buf = append(e.buf, class.UpdatedProperty...)
		e.buf = append(e.buf, '"')
	}
	if i := ev.cols[colCategory]; i >= 0 && e.fields[i].role == toColumn {
		e.fixedKey(set, &first, `"category":`)
		if _, err := e.value(e.fields[i].val(), 2); err != nil {
			return err
		}
	}
	if i := ev.cols[colEnterpriseID]; i >= 0 && e.fields[i].role == toColumn {
		e.fixedKey(set, &first, `"enterprise_id":`)
		if _, err := e.value(e.fields[i].val(), 2); err != nil {
			return err
		}
	} else if enterpriseID != 0 {
		e.fixedKey(set, &first, `"enterprise_id":`)
		e.buf = strconv.AppendInt(e.buf, enterpriseID, 10)
	}
	if client >= 0 {
		e.fixedKey(set, &first, `"client_version":`)
		if _, err := e.value(e.fields[client].val(), 2); err != nil {
			return err
		}
	}
	if err := e.dataMembers(ev, set, &first); err != nil {
		return err
	}
	e.buf = append(e.buf, "}}"...)
	return nil
}

// fixedKey writes member, a member name and its colon that need no
// escaping (`"name":`), into the object at level 2 whose duplicates set
// detects. The caller knows it is not a duplicate.
func (e *encoder) fixedKey(set *keySet, first *bool, member string) {
	if !*first {
		e.buf = append(e.buf, ',')
	}
	e.buf = append(e.buf, member...)
	set.addNew(e, len(e.buf)-len(member)+1, len(e.buf)-2)
	*first = false
}

// appendConst appends `,"key":"value"` for a value that needs no escaping.
func appendConst(b []byte, key, value string) []byte {
	b = append(b, `,"`...)
	b = append(b, key...)
	b = append(b, `":"`...)
	b = append(b, value...)
	return append(b, '"')
}

// isIP reports whether s is an IPv4 address in dotted decimal or an IPv6
// address (without zone), as net/netip reads them, without allocating.
func isIP(s []byte) bool {
	if isIPv4(s) {
		return true
	}
	if bytes.IndexByte(s, ':') < 0 {
		return false
	}
	groups, gap := 0, false
	for i := 0; i < len(s); {
		if s[i] == ':' {
			if i+1 < len(s) && s[i+1] == ':' {
				if gap {
					return false
				}
				gap = true
				i += 2
				if i == len(s) {
					break
				}
				if s[i] == ':' {
					return false
				}
				continue
			}
			if i == 0 || i+1 == len(s) {
				return false
			}
			i++
		}
		j := i
		for j < len(s) && j-i < 5 && isHex(s[j]) {
			j++
		}
		if j < len(s) && s[j] == '.' {
			// An IPv4 tail counts as two groups.
			if !isIPv4(s[i:]) {
				return false
			}
			groups += 2
			break
		}
		if j == i || j-i > 4 || (j < len(s) && s[j] != ':') {
			return false
		}
		groups++
		i = j
	}
	if gap {
		return groups < 8
	}
	return groups == 8
}

// isIPv4 reports whether s is four decimal numbers 0 to 255, without
// leading zeros, joined by dots.
func isIPv4(s []byte) bool {
	if len(s) < len("0.0.0.0") || len(s) > len("255.255.255.255") {
		return false
	}
	dots, n, digits := 0, 0, 0
	for _, c := range s {
		if d := c - '0'; d < 10 {
			if digits > 0 && n == 0 {
				return false // a leading zero
			}
			n = n*10 + int(d)
			digits++
			if n > 255 {
				return false
			}
			continue
		}
		if c != '.' || digits == 0 || dots == 3 {
			return false
		}
		dots++
		n, digits = 0, 0
	}
	return dots == 3 && digits > 0
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// clientName is the Keeper client named in a client_version: the text
// before the first dot that a digit follows ("Web Vault.17.0.3": "Web
// Vault").
func clientName(v []byte) []byte {
	for i := 0; i+1 < len(v); i++ {
		if v[i] == '.' && v[i+1] >= '0' && v[i+1] <= '9' {
			return v[:i]
		}
	}
	return v
}

// resultDetails is the ASIM EventResultDetails of a failed event.
func resultDetails(class ASIMEvent) string {
	if class.ResultDetails != "" {
		return class.ResultDetails
	}
	return "Other"
}

// usernameType is ASIM's UsernameType of a Keeper user name: UPN for an
// email address, else Simple.
func usernameType(name []byte) string {
	if bytes.IndexByte(name, '@') > 0 {
		return "UPN"
	}
	return "Simple"
}

// column writes the Keeper column col of ev as the ASIM column key and
// returns its text when it is a string; a value that does not fit a string
// stays for AdditionalFields.
func (e *encoder) column(ev *event, col int, key string) []byte {
	i := ev.cols[col]
	if i < 0 {
		return nil
	}
	f := &e.fields[i]
	mark := len(e.buf)
	e.buf = append(e.buf, `,"`...)
	e.buf = append(e.buf, key...)
	e.buf = append(e.buf, `":`...)
	if fits, err := e.stringColumn(f.val()); err != nil || !fits {
		e.buf = e.buf[:mark]
		f.role = toData
		return nil
	}
	if f.role == toColumn {
		f.role = consumed
	}
	s, _ := keyName(f.val())
	return s
}

// The data fields (fields of the event without a Keeper column) that ASIM
// columns take, in asimData's order; the object fields, most specific
// first, name what an audit event acted on.
func asimDataNames() [numASIMData]string {
	return [...]string{
		"result_code", "status", "message", "to_username", "value", "enforcement", "role_id", "team_uid",
		// objects
		"record_uid", "attachment_id", "shared_folder_uid", "folder_uid", "app_uid", "secret_uid",
		"node_id", "node", "gateway_uid", "agent_uid", "policy_uid", "collection_uid", "deployment_uid", "request_uid",
	}
}

const (
	dResultCode = iota
	dStatus
	dMessage
	dToUsername
	dValue
	dEnforcement
	dRoleID
	dTeamUID
	dFirstObject
	numASIMData = dFirstObject + 14
)

// asimDataIndex returns the asimDataNames index of name, or -1.
func asimDataIndex(name []byte) int {
	switch string(name) {
	case "result_code":
		return dResultCode
	case "status":
		return dStatus
	case "message":
		return dMessage
	case "to_username":
		return dToUsername
	case "value":
		return dValue
	case "enforcement":
		return dEnforcement
	case "role_id":
		return dRoleID
	case "team_uid":
		return dTeamUID
	case "record_uid":
		return dFirstObject
	case "attachment_id":
		return dFirstObject + 1
	case "shared_folder_uid":
		return dFirstObject + 2
	case "folder_uid":
		return dFirstObject + 3
	case "app_uid":
		return dFirstObject + 4
	case "secret_uid":
		return dFirstObject + 5
	case "node_id":
		return dFirstObject + 6
	case "node":
		return dFirstObject + 7
	case "gateway_uid":
		return dFirstObject + 8
	case "agent_uid":
		return dFirstObject + 9
	case "policy_uid":
		return dFirstObject + 10
	case "collection_uid":
		return dFirstObject + 11
	case "deployment_uid":
		return dFirstObject + 12
	case "request_uid":
		return dFirstObject + 13
	}
	return -1
}

// indexData finds, in one pass, the data fields ASIM columns take.
func (e *encoder) indexData() {
	e.data = noData()
	for i := range e.fields {
		if f := &e.fields[i]; f.role == toData {
			if n, ok := keyName(f.kv); ok {
				if d := asimDataIndex(n); d >= 0 && e.data[d] < 0 {
					e.data[d] = i
				}
			}
		}
	}
}

// noData is the index of no data field, for each of asimDataNames.
func noData() [numASIMData]int {
	return [...]int{-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1}
}

// findData returns the index in e.fields of data field d, or -1.
func (e *encoder) findData(d int) int {
	if i := e.data[d]; i >= 0 && e.fields[i].role == toData {
		return i
	}
	return -1
}

// dataField writes the data field d as the ASIM string column key, if
// there is one and it fits a string, and takes it out of AdditionalFields.
func (e *encoder) dataField(d int, key string) bool {
	i := e.findData(d)
	if i < 0 {
		return false
	}
	mark := len(e.buf)
	e.buf = append(e.buf, `,"`...)
	e.buf = append(e.buf, key...)
	e.buf = append(e.buf, `":`...)
	if fits, err := e.stringColumn(e.fields[i].val()); err != nil || !fits {
		e.buf = e.buf[:mark]
		return false
	}
	e.fields[i].role = consumed
	return true
}

// peekString returns the data field d if it is a string.
func (e *encoder) peekString(d int) []byte {
	if i := e.findData(d); i >= 0 {
		if s, ok := keyName(e.fields[i].val()); ok {
			return s
		}
	}
	return nil
}

// takeString returns the data field d if it is a non-empty string, and
// takes it out of AdditionalFields.
func (e *encoder) takeString(d int) []byte {
	if i := e.findData(d); i >= 0 {
		if s, ok := keyName(e.fields[i].val()); ok && len(s) > 0 {
			e.fields[i].role = consumed
			return s
		}
	}
	return nil
}

// auditObject writes Object, ObjectId and OriginalObjectType: a policy
// enforcement by its name (the role it applies to as ObjectId), else the
// first field that names an object, else the enterprise.
func (e *encoder) auditObject() {
	if enf := e.peekString(dEnforcement); len(enf) > 0 {
		e.takeString(dEnforcement)
		e.buf = append(e.buf, `,"Object":`...)
		e.str(enf)
		e.dataField(dRoleID, "ObjectId")
		e.buf = append(e.buf, `,"OriginalObjectType":"enforcement"`...)
		return
	}
	names := asimDataNames()
	for d := dFirstObject; d < numASIMData; d++ {
		i := e.findData(d)
		if i < 0 {
			continue
		}
		v := e.fields[i].val()
		mark := len(e.buf)
		e.buf = append(e.buf, `,"Object":`...)
		at := len(e.buf)
		if fits, err := e.stringColumn(v); err != nil || !fits {
			e.buf = e.buf[:mark]
			continue
		}
		end := len(e.buf)
		e.buf = append(e.buf, `,"ObjectId":`...)
		e.buf = append(e.buf, e.buf[at:end]...)
		e.buf = appendConst(e.buf, "OriginalObjectType", names[d])
		e.fields[i].role = consumed
		return
	}
	e.buf = append(e.buf, `,"Object":"enterprise","OriginalObjectType":"enterprise"`...)
}
