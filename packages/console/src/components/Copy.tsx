import { Typography } from 'antd';

/** A monospace value with a copy button. */
export function Copy({ value, display }: { value: string; display?: string }) {
  return (
    <Typography.Text className="mono" copyable={{ text: value }}>
      {display ?? value}
    </Typography.Text>
  );
}
