import { Com } from '../protocol/constants.js';
import { ReplyKind } from '../protocol/reply-tracker.js';

/**
 * The reply shape of each command the proxy forwards: a ReplyKind, null for commands the server
 * never answers, undefined for commands the proxy refuses (replication, obsolete ones).
 */
export function replyKindOf(cmd: number): ReplyKind | null | undefined {
  switch (cmd) {
    case Com.QUERY:
    case Com.STMT_EXECUTE:
    case Com.STMT_BULK_EXECUTE:
    case Com.PROCESS_INFO:
      return ReplyKind.Result;
    case Com.STMT_PREPARE:
      return ReplyKind.Prepare;
    case Com.STMT_FETCH:
    case Com.FIELD_LIST:
      return ReplyKind.Rows;
    case Com.PING:
    case Com.INIT_DB:
    case Com.STATISTICS:
    case Com.STMT_RESET:
    case Com.SET_OPTION:
    case Com.RESET_CONNECTION:
    case Com.REFRESH:
    case Com.DEBUG:
      return ReplyKind.Single;
    case Com.STMT_CLOSE:
    case Com.STMT_SEND_LONG_DATA:
      return null;
    default:
      return undefined;
  }
}
