package azmontest

// The ASIM tables' columns, as Microsoft's Azure Monitor table reference
// lists them (ASimAuthenticationEventLogs as of 07/2026,
// ASimUserManagementActivityLogs as of 07/2026, ASimAuditEventLogs as of
// 02/2024), less the columns Azure Monitor fills itself (TenantId, Type,
// SourceSystem, _ResourceId, _SubscriptionId, _BilledSize, _IsBillable).
// A DCR whose dataFlow writes a Custom- stream into one of these tables
// keeps only these columns.

// The ASIM tables.
const (
	TableASimAuthentication = "ASimAuthenticationEventLogs"
	TableASimUserManagement = "ASimUserManagementActivityLogs"
	TableASimAudit          = "ASimAuditEventLogs"
)

// The streams keeper_azmon's schema asim posts to by default, each routed
// by the DCR into its ASIM table.
const (
	StreamKeeperAsimAuthentication = "Custom-KeeperAsimAuthentication"
	StreamKeeperAsimUserManagement = "Custom-KeeperAsimUserManagement"
	StreamKeeperAsimAudit          = "Custom-KeeperAsimAudit"
)

// ASIMTableColumns returns the columns of an ASIM table (one of the Table
// constants), nil for another name.
func ASIMTableColumns(table string) []Column {
	switch table {
	case TableASimAuthentication:
		return []Column{
			{"ActingAppId", TypeString}, {"ActingApplicationEntityKey", TypeString}, {"ActingAppName", TypeString}, {"ActingAppType", TypeString},
			{"ActingOriginalAppType", TypeString}, {"ActorOriginalUserType", TypeString}, {"ActorScope", TypeString}, {"ActorScopeId", TypeString},
			{"ActorSessionId", TypeString}, {"ActorUserAdditionalIds", TypeDynamic}, {"ActorUserEntityKey", TypeString}, {"ActorUserId", TypeString},
			{"ActorUserIdType", TypeString}, {"ActorUsername", TypeString}, {"ActorUsernameType", TypeString}, {"ActorUserType", TypeString},
			{"AdditionalEntities", TypeDynamic}, {"AdditionalFields", TypeDynamic}, {"DvcAction", TypeString}, {"DvcDescription", TypeString},
			{"DvcDomain", TypeString}, {"DvcDomainType", TypeString}, {"DvcEntityKey", TypeString}, {"DvcFQDN", TypeString},
			{"DvcHostname", TypeString}, {"DvcId", TypeString}, {"DvcIdType", TypeString}, {"DvcInterface", TypeString},
			{"DvcIpAddr", TypeString}, {"DvcMacAddr", TypeString}, {"DvcOriginalAction", TypeString}, {"DvcOs", TypeString},
			{"DvcOsVersion", TypeString}, {"DvcScope", TypeString}, {"DvcScopeId", TypeString}, {"DvcZone", TypeString},
			{"EventCount", TypeInt}, {"EventEndTime", TypeDatetime}, {"EventMessage", TypeString}, {"EventOriginalResultDetails", TypeString},
			{"EventOriginalSeverity", TypeString}, {"EventOriginalSubType", TypeString}, {"EventOriginalType", TypeString}, {"EventOriginalUid", TypeString},
			{"EventOwner", TypeString}, {"EventProduct", TypeString}, {"EventProductVersion", TypeString}, {"EventReportUrl", TypeString},
			{"EventResult", TypeString}, {"EventResultDetails", TypeString}, {"EventSchemaVersion", TypeString}, {"EventSeverity", TypeString},
			{"EventStartTime", TypeDatetime}, {"EventSubType", TypeString}, {"EventType", TypeString}, {"EventVendor", TypeString},
			{"HttpUserAgent", TypeString}, {"LogonMethod", TypeString}, {"LogonProtocol", TypeString}, {"RuleName", TypeString},
			{"RuleNumber", TypeInt}, {"SrcDescription", TypeString}, {"SrcDeviceType", TypeString}, {"SrcDomain", TypeString},
			{"SrcDomainType", TypeString}, {"SrcDvcId", TypeString}, {"SrcDvcIdType", TypeString}, {"SrcDvcOs", TypeString},
			{"SrcDvcScope", TypeString}, {"SrcDvcScopeId", TypeString}, {"SrcFQDN", TypeString}, {"SrcGeoCity", TypeString},
			{"SrcGeoCountry", TypeString}, {"SrcGeoLatitude", TypeReal}, {"SrcGeoLongitude", TypeReal}, {"SrcGeoRegion", TypeString},
			{"SrcHostname", TypeString}, {"SrcIpAddr", TypeString}, {"SrcIsp", TypeString}, {"SrcOriginalRiskLevel", TypeString},
			{"SrcPortNumber", TypeInt}, {"SrcRiskLevel", TypeInt}, {"SrcSystemEntityKey", TypeString}, {"TargetAppId", TypeString},
			{"TargetApplicationEntityKey", TypeString}, {"TargetAppName", TypeString}, {"TargetAppType", TypeString}, {"TargetDescription", TypeString},
			{"TargetDeviceType", TypeString}, {"TargetDomain", TypeString}, {"TargetDomainType", TypeString}, {"TargetDvcId", TypeString},
			{"TargetDvcIdType", TypeString}, {"TargetDvcOs", TypeString}, {"TargetDvcScope", TypeString}, {"TargetDvcScopeId", TypeString},
			{"TargetFQDN", TypeString}, {"TargetGeoCity", TypeString}, {"TargetGeoCountry", TypeString}, {"TargetGeoLatitude", TypeReal},
			{"TargetGeoLongitude", TypeReal}, {"TargetGeoRegion", TypeString}, {"TargetHostname", TypeString}, {"TargetIpAddr", TypeString},
			{"TargetOriginalAppType", TypeString}, {"TargetOriginalRiskLevel", TypeString}, {"TargetOriginalUserType", TypeString}, {"TargetPortNumber", TypeInt},
			{"TargetRiskLevel", TypeInt}, {"TargetSessionId", TypeString}, {"TargetSystemEntityKey", TypeString}, {"TargetUrl", TypeString},
			{"TargetUserAdditionalIds", TypeDynamic}, {"TargetUserEntityKey", TypeString}, {"TargetUserId", TypeString}, {"TargetUserIdType", TypeString},
			{"TargetUsername", TypeString}, {"TargetUsernameType", TypeString}, {"TargetUserScope", TypeString}, {"TargetUserScopeId", TypeString},
			{"TargetUserType", TypeString}, {"ThreatCategory", TypeString}, {"ThreatConfidence", TypeInt}, {"ThreatField", TypeString},
			{"ThreatFirstReportedTime", TypeDatetime}, {"ThreatId", TypeString}, {"ThreatIpAddr", TypeString}, {"ThreatIsActive", TypeBoolean},
			{"ThreatLastReportedTime", TypeDatetime}, {"ThreatName", TypeString}, {"ThreatOriginalConfidence", TypeString}, {"ThreatOriginalRiskLevel", TypeString},
			{"ThreatRiskLevel", TypeInt}, {"TimeGenerated", TypeDatetime},
		}
	case TableASimUserManagement:
		return []Column{
			{"ActingAppId", TypeString}, {"ActingAppName", TypeString}, {"ActingAppType", TypeString}, {"ActingOriginalAppType", TypeString},
			{"ActorOriginalUserType", TypeString}, {"ActorScope", TypeString}, {"ActorScopeId", TypeString}, {"ActorSessionId", TypeString},
			{"ActorUserAadId", TypeString}, {"ActorUserId", TypeString}, {"ActorUserIdType", TypeString}, {"ActorUsername", TypeString},
			{"ActorUsernameType", TypeString}, {"ActorUserSid", TypeString}, {"ActorUserType", TypeString}, {"AdditionalFields", TypeDynamic},
			{"DvcAction", TypeString}, {"DvcDescription", TypeString}, {"DvcDomain", TypeString}, {"DvcDomainType", TypeString},
			{"DvcFQDN", TypeString}, {"DvcHostname", TypeString}, {"DvcId", TypeString}, {"DvcIdType", TypeString},
			{"DvcInterface", TypeString}, {"DvcIpAddr", TypeString}, {"DvcMacAddr", TypeString}, {"DvcOriginalAction", TypeString},
			{"DvcOs", TypeString}, {"DvcOsVersion", TypeString}, {"DvcScope", TypeString}, {"DvcScopeId", TypeString},
			{"DvcZone", TypeString}, {"EventCount", TypeInt}, {"EventEndTime", TypeDatetime}, {"EventMessage", TypeString},
			{"EventOriginalResultDetails", TypeString}, {"EventOriginalSeverity", TypeString}, {"EventOriginalSubType", TypeString}, {"EventOriginalType", TypeString},
			{"EventOriginalUid", TypeString}, {"EventOwner", TypeString}, {"EventProduct", TypeString}, {"EventProductVersion", TypeString},
			{"EventReportUrl", TypeString}, {"EventResult", TypeString}, {"EventResultDetails", TypeString}, {"EventSchema", TypeString},
			{"EventSchemaVersion", TypeString}, {"EventSeverity", TypeString}, {"EventStartTime", TypeDatetime}, {"EventSubType", TypeString},
			{"EventType", TypeString}, {"EventVendor", TypeString}, {"GroupId", TypeString}, {"GroupIdType", TypeString},
			{"GroupName", TypeString}, {"GroupNameType", TypeString}, {"GroupOriginalType", TypeString}, {"GroupType", TypeString},
			{"HttpUserAgent", TypeString}, {"NewPropertyValue", TypeString}, {"PreviousPropertyValue", TypeString}, {"RuleName", TypeString},
			{"RuleNumber", TypeInt}, {"SrcDescription", TypeString}, {"SrcDeviceType", TypeString}, {"SrcDomain", TypeString},
			{"SrcDomainType", TypeString}, {"SrcDvcId", TypeString}, {"SrcDvcIdType", TypeString}, {"SrcDvcScope", TypeString},
			{"SrcDvcScopeId", TypeString}, {"SrcFQDN", TypeString}, {"SrcGeoCity", TypeString}, {"SrcGeoCountry", TypeString},
			{"SrcGeoLatitude", TypeReal}, {"SrcGeoLongitude", TypeReal}, {"SrcGeoRegion", TypeString}, {"SrcHostname", TypeString},
			{"SrcIpAddr", TypeString}, {"SrcMacAddr", TypeString}, {"SrcOriginalRiskLevel", TypeString}, {"SrcPortNumber", TypeInt},
			{"SrcRiskLevel", TypeInt}, {"TargetOriginalUserType", TypeString}, {"TargetUserId", TypeString}, {"TargetUserIdType", TypeString},
			{"TargetUsername", TypeString}, {"TargetUsernameType", TypeString}, {"TargetUserScope", TypeString}, {"TargetUserScopeId", TypeString},
			{"TargetUserSessionId", TypeString}, {"TargetUserType", TypeString}, {"TargetUserUid", TypeString}, {"ThreatCategory", TypeString},
			{"ThreatConfidence", TypeInt}, {"ThreatField", TypeString}, {"ThreatFirstReportedTime", TypeDatetime}, {"ThreatId", TypeString},
			{"ThreatIsActive", TypeBoolean}, {"ThreatLastReportedTime", TypeDatetime}, {"ThreatName", TypeString}, {"ThreatOriginalConfidence", TypeString},
			{"ThreatOriginalRiskLevel", TypeString}, {"ThreatRiskLevel", TypeInt}, {"TimeGenerated", TypeDatetime},
		}
	case TableASimAudit:
		return []Column{
			{"ActingAppId", TypeString}, {"ActingAppName", TypeString}, {"ActingAppType", TypeString}, {"ActingOriginalAppType", TypeString},
			{"ActorOriginalUserType", TypeString}, {"ActorScope", TypeString}, {"ActorScopeId", TypeString}, {"ActorSessionId", TypeString},
			{"ActorUserAadId", TypeString}, {"ActorUserId", TypeString}, {"ActorUserIdType", TypeString}, {"ActorUsername", TypeString},
			{"ActorUsernameType", TypeString}, {"ActorUserSid", TypeString}, {"ActorUserType", TypeString}, {"AdditionalFields", TypeDynamic},
			{"DvcAction", TypeString}, {"DvcDescription", TypeString}, {"DvcDomain", TypeString}, {"DvcDomainType", TypeString},
			{"DvcFQDN", TypeString}, {"DvcHostname", TypeString}, {"DvcId", TypeString}, {"DvcIdType", TypeString},
			{"DvcInterface", TypeString}, {"DvcIpAddr", TypeString}, {"DvcMacAddr", TypeString}, {"DvcOriginalAction", TypeString},
			{"DvcOs", TypeString}, {"DvcOsVersion", TypeString}, {"DvcScope", TypeString}, {"DvcScopeId", TypeString},
			{"DvcZone", TypeString}, {"EventCount", TypeInt}, {"EventEndTime", TypeDatetime}, {"EventMessage", TypeString},
			{"EventOriginalResultDetails", TypeString}, {"EventOriginalSeverity", TypeString}, {"EventOriginalSubType", TypeString}, {"EventOriginalType", TypeString},
			{"EventOriginalUid", TypeString}, {"EventOwner", TypeString}, {"EventProduct", TypeString}, {"EventProductVersion", TypeString},
			{"EventReportUrl", TypeString}, {"EventResult", TypeString}, {"EventResultDetails", TypeString}, {"EventSchemaVersion", TypeString},
			{"EventSeverity", TypeString}, {"EventStartTime", TypeDatetime}, {"EventSubType", TypeString}, {"EventType", TypeString},
			{"EventVendor", TypeString}, {"HttpUserAgent", TypeString}, {"NewValue", TypeString}, {"Object", TypeString},
			{"ObjectId", TypeString}, {"ObjectType", TypeString}, {"OldValue", TypeString}, {"Operation", TypeString},
			{"OriginalObjectType", TypeString}, {"RuleName", TypeString}, {"RuleNumber", TypeInt}, {"SrcDescription", TypeString},
			{"SrcDeviceType", TypeString}, {"SrcDomain", TypeString}, {"SrcDomainType", TypeString}, {"SrcDvcId", TypeString},
			{"SrcDvcIdType", TypeString}, {"SrcDvcScope", TypeString}, {"SrcDvcScopeId", TypeString}, {"SrcFQDN", TypeString},
			{"SrcGeoCity", TypeString}, {"SrcGeoCountry", TypeString}, {"SrcGeoLatitude", TypeReal}, {"SrcGeoLongitude", TypeReal},
			{"SrcGeoRegion", TypeString}, {"SrcHostname", TypeString}, {"SrcIpAddr", TypeString}, {"SrcOriginalRiskLevel", TypeString},
			{"SrcPortNumber", TypeInt}, {"SrcRiskLevel", TypeInt}, {"TargetAppId", TypeString}, {"TargetAppName", TypeString},
			{"TargetAppType", TypeString}, {"TargetDescription", TypeString}, {"TargetDeviceType", TypeString}, {"TargetDomain", TypeString},
			{"TargetDomainType", TypeString}, {"TargetDvcId", TypeString}, {"TargetDvcIdType", TypeString}, {"TargetDvcOs", TypeString},
			{"TargetDvcScope", TypeString}, {"TargetDvcScopeId", TypeString}, {"TargetFQDN", TypeString}, {"TargetGeoCity", TypeString},
			{"TargetGeoCountry", TypeString}, {"TargetGeoLatitude", TypeReal}, {"TargetGeoLongitude", TypeReal}, {"TargetGeoRegion", TypeString},
			{"TargetHostname", TypeString}, {"TargetIpAddr", TypeString}, {"TargetOriginalAppType", TypeString}, {"TargetOriginalRiskLevel", TypeString},
			{"TargetPortNumber", TypeInt}, {"TargetRiskLevel", TypeInt}, {"TargetUrl", TypeString}, {"ThreatCategory", TypeString},
			{"ThreatConfidence", TypeInt}, {"ThreatField", TypeString}, {"ThreatFirstReportedTime", TypeDatetime}, {"ThreatId", TypeString},
			{"ThreatIpAddr", TypeString}, {"ThreatIsActive", TypeBoolean}, {"ThreatLastReportedTime", TypeDatetime}, {"ThreatName", TypeString},
			{"ThreatOriginalConfidence", TypeString}, {"ThreatOriginalRiskLevel", TypeString}, {"ThreatRiskLevel", TypeInt}, {"TimeGenerated", TypeDatetime},
			{"ValueType", TypeString},
		}
	}
	return nil
}
