package sms

import (
	"strings"

	"carillon/channels"
)

// Mainland carriers report a failed delivery with a status-report code that
// Aliyun (err_code) and Tencent Cloud (errmsg) pass on as they get it: the
// CMPP/SMGP/SGIP codes of China Mobile, China Unicom and China Telecom. What a
// code says about the number decides what happens next:
//
//   - permanent: the number cannot receive (空号, 停机, a carrier's blacklist):
//     the next channel is tried and the number is suppressed for the reason;
//   - temporary: this message did not arrive (关机, out of coverage, expired,
//     flow control, content filtered): the next channel is tried, nothing is
//     suppressed;
//   - unknown: a code not in the table is treated as temporary and said so.
//
// The table is the carriers' published status-report codes as the providers'
// documentation lists them.
type reportClass int

const (
	reportUnknown reportClass = iota
	reportDelivered
	reportTemporary
	reportPermanent
)

type reportCode struct {
	class  reportClass
	reason string // the suppression reason of a permanent failure
	zh     string // what it means, for the timeline
}

// reportCodes are whole codes; reportPrefixes the families known only by prefix.
var reportCodes = map[string]reportCode{
	"DELIVERED": {reportDelivered, "", "用户接收成功"},
	"DELIVRD":   {reportDelivered, "", "用户接收成功"},

	// The number does not exist or is out of service.
	"UNDELIV": {reportPermanent, "invalid", "用户状态异常（停机、空号），不可达"},
	"MN:0001": {reportPermanent, "invalid", "空号"},
	"MK:0001": {reportPermanent, "invalid", "不存在的用户"},
	"MK:0005": {reportPermanent, "invalid", "停机"},
	"MK:0013": {reportPermanent, "invalid", "停机"},
	"CB:0001": {reportPermanent, "invalid", "号码无效或空号"},
	"CB:0053": {reportPermanent, "invalid", "号码无效或空号"},
	"DB:0101": {reportPermanent, "invalid", "手机号码错误，号码无效或空号"},
	"DB:0102": {reportPermanent, "invalid", "用户停机"},
	"MI:0054": {reportPermanent, "invalid", "空号、停机"},
	"MI:0059": {reportPermanent, "invalid", "空号、停机"},
	"MI:0073": {reportPermanent, "invalid", "空号"},
	"MI:0210": {reportPermanent, "invalid", "空号"},
	// A carrier's or the gateway's blacklist: the subscriber complained or refused.
	"MBBLACK": {reportPermanent, "complaint", "本地黑名单"},
	"DBBLACK": {reportPermanent, "complaint", "网关黑名单"},
	"DB:0144": {reportPermanent, "complaint", "网关黑名单"},

	// This message did not arrive; the number may well work.
	"EXPIRED":  {reportTemporary, "", "超时未送达（关机或不在服务区）"},
	"TIMEOUT":  {reportTemporary, "", "超时"},
	"UNKNOWN":  {reportTemporary, "", "状态未知"},
	"REJECTD":  {reportTemporary, "", "被网关拒绝"},
	"ROUTEERR": {reportTemporary, "", "网络超时"},
	"NOROUTER": {reportTemporary, "", "无通道"},
	"MK:0010":  {reportTemporary, "", "关机或不在服务区，超出最长保存时间"},
	"MK:0023":  {reportTemporary, "", "用户关机"},
	"MI:0024":  {reportTemporary, "", "用户关机"},
	"MI:0042":  {reportTemporary, "", "关机"},
	"MI:0076":  {reportTemporary, "", "关机"},
	"MI:0082":  {reportTemporary, "", "关机"},
	"MI:0099":  {reportTemporary, "", "终端问题（内存满、SIM 卡满）"},
	"MI:0208":  {reportTemporary, "", "SIM 卡存储满"},
	"IB:0008":  {reportTemporary, "", "网关流量控制"},
	"DB:9007":  {reportTemporary, "", "网关超过流量限制"},
	"MI:0061":  {reportTemporary, "", "网关流控"},
	"MI:0062":  {reportTemporary, "", "网关流控"},
	"MK:0115":  {reportTemporary, "", "被判为垃圾短信拦截"},
	"DB:0142":  {reportTemporary, "", "超过当日最大发送量"},
}

// reportPrefixes are code families every member of which is a carrier's
// internal fault (temporary).
var reportPrefixes = map[string]reportCode{
	"CA:": {reportTemporary, "", "运营商内部错误"},
	"DA:": {reportTemporary, "", "运营商内部错误"},
	"IC:": {reportTemporary, "", "运营商内部错误"},
	"MA:": {reportTemporary, "", "运营商内部错误"},
}

// classifyReport reads a carrier status-report code.
func classifyReport(code string) reportCode {
	c := strings.ToUpper(strings.TrimSpace(code))
	if rc, ok := reportCodes[c]; ok {
		return rc
	}
	for p, rc := range reportPrefixes {
		if strings.HasPrefix(c, p) {
			return rc
		}
	}
	return reportCode{class: reportUnknown}
}

// failedReceipt fills a failed receipt's meaning from its carrier code: whether
// the number is condemned and why, what the code means when the provider gave no
// text, and, for a code the table does not know, that it was treated as
// temporary.
func failedReceipt(r channels.Receipt) channels.Receipt {
	rc := classifyReport(r.Code)
	if r.Detail == "" {
		r.Detail = rc.zh
	}
	switch rc.class {
	case reportPermanent:
		r.Permanent, r.SuppressReason = true, rc.reason
	case reportUnknown:
		r.Unclassified = true
	}
	return r
}
